<#
.SYNOPSIS
  Run stackext over every crash dump in a folder with kd, one log per dump.

.DESCRIPTION
  For each dump in -DumpFolder runs, in this script's folder (where the launcher
  stackext.usage lies),
    kd -z <dump> -y "<sympath>;<dump's folder>" -logo <out>\<dump>.txt -c ".load <pykd>; !py stackext.usage; q"
  with the options (--format json and -ExtraArgs) in the environment variable STACKEXT_ARGS,
  which the launcher reads (pykd.pyd's own !py does not pass arguments reliably).
  The JSON report sits between "----- stackext json begin/end -----" lines in each log, so
  `stackext usage <out>\*.txt` reads the logs back, each stack named by its dump.

  A dump counts as failed when its log has no stackext JSON end marker (kd exits 0 even when
  `.load pykd` failed) or when kd runs longer than -TimeoutSeconds (it is then stopped). A line of
  progress is printed every 5 seconds while kd runs. kd.exe: -Kd, else kd.exe on PATH, else the
  Windows Kits' Debuggers folder (registry value KitsRoot10). The same options as
  stackext-batch.cmd. Run it with: powershell -ExecutionPolicy Bypass -File stackext-batch.ps1 ...

.EXAMPLE
  powershell -ExecutionPolicy Bypass -File .\stackext-batch.ps1 -DumpFolder C:\dumps -OutFolder C:\dumps\stackext
  .\stackext-batch.ps1 -DumpFolder C:\dumps -SymbolPath "srv*C:\symbols*https://msdl.microsoft.com/download/symbols" -Kd "C:\Program Files (x86)\Windows Kits\10\Debuggers\x64\kd.exe" -TimeoutSeconds 300
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true, Position = 0)][string]$DumpFolder,
    [Parameter(Position = 1)][string]$OutFolder = "",
    [Parameter(Position = 2)][string]$SymbolPath = $env:_NT_SYMBOL_PATH,
    [Parameter(Position = 3)][Alias("KdPath")][string]$Kd = "",
    [Alias("PykdPath")][string]$Pykd = "pykd",
    [string]$Filter = "*.dmp",
    [int]$TimeoutSeconds = 600,
    [string]$ExtraArgs = ""
)

$ErrorActionPreference = "Stop"
$EndMarker = "----- stackext json end -----"

function Find-Kd([string]$Given) {
    if ($Given) {
        if (-not (Test-Path -LiteralPath $Given -PathType Leaf)) { throw "kd not found: $Given" }
        return (Resolve-Path -LiteralPath $Given).Path
    }
    $onPath = Get-Command kd.exe -ErrorAction SilentlyContinue
    if ($onPath) { return $onPath.Source }
    $arch = switch ($env:PROCESSOR_ARCHITECTURE) { "ARM64" { "arm64" } "x86" { "x86" } default { "x64" } }
    foreach ($key in "HKLM:\SOFTWARE\Microsoft\Windows Kits\Installed Roots",
                     "HKLM:\SOFTWARE\WOW6432Node\Microsoft\Windows Kits\Installed Roots") {
        $root = (Get-ItemProperty -Path $key -Name KitsRoot10 -ErrorAction SilentlyContinue).KitsRoot10
        if ($root) {
            $candidate = Join-Path $root "Debuggers\$arch\kd.exe"
            if (Test-Path -LiteralPath $candidate -PathType Leaf) { return $candidate }
        }
    }
    throw "kd.exe not found: give -Kd, put kd.exe on PATH, or install the Debugging Tools for Windows (Windows SDK)"
}

if (-not (Test-Path -LiteralPath $DumpFolder -PathType Container)) { throw "no such folder: $DumpFolder" }
if ($TimeoutSeconds -le 0) { throw "-TimeoutSeconds must be a positive number of seconds" }
if (-not $OutFolder) { $OutFolder = $DumpFolder }
New-Item -ItemType Directory -Force -Path $OutFolder | Out-Null
$OutFolder = (Resolve-Path -LiteralPath $OutFolder).Path
if (-not $SymbolPath) {
    $SymbolPath = "srv*$env:LOCALAPPDATA\symbols*https://msdl.microsoft.com/download/symbols"
}
$kdExe = Find-Kd $Kd
$env:STACKEXT_ARGS = ("--format json " + $ExtraArgs).Trim()
$commands = ".load $Pykd; !py stackext.usage; q"

$dumps = @(Get-ChildItem -LiteralPath $DumpFolder -Filter $Filter -File)
Write-Host ("stackext: {0} dump(s) in {1} with {2}, timeout {3} s each" -f $dumps.Count, $DumpFolder, $kdExe, $TimeoutSeconds)
$failed = 0
$n = 0
foreach ($dump in $dumps) {
    $n++
    $log = Join-Path $OutFolder ($dump.BaseName + ".txt")
    Remove-Item -LiteralPath $log -ErrorAction SilentlyContinue
    Write-Host "stackext: [$n/$($dumps.Count)] $($dump.Name) -> $log"
    # The dump's own folder on the symbol path (PDBs next to the dump), as `--dump` does.
    $sym = "$SymbolPath;$($dump.DirectoryName)"
    # Start-Process joins -ArgumentList with spaces: each argument is quoted here.
    $argv = @("-z", "`"$($dump.FullName)`"", "-y", "`"$sym`"", "-logo", "`"$log`"", "-c", "`"$commands`"")
    $proc = Start-Process -FilePath $kdExe -ArgumentList $argv -WorkingDirectory $PSScriptRoot `
        -WindowStyle Hidden -PassThru
    $waited = 0
    while (-not $proc.WaitForExit(1000)) {
        $waited++
        if ($waited -ge $TimeoutSeconds) { break }
        if ($waited % 5 -eq 0) { Write-Host "stackext:   $($dump.Name): kd still running after $waited s" }
    }
    if (-not $proc.HasExited) {
        Stop-Process -Id $proc.Id -Force -ErrorAction SilentlyContinue
        Write-Warning "$($dump.Name): FAILED: kd did not finish within $TimeoutSeconds s (stopped)"
        $failed++
        continue
    }
    $hasJson = (Test-Path -LiteralPath $log) -and (Select-String -LiteralPath $log -SimpleMatch $EndMarker -Quiet)
    if (-not $hasJson) {
        Write-Warning "$($dump.Name): FAILED: no stackext JSON in the log (did .load $Pykd and !py stackext.usage run?)"
        $failed++
    }
}
Write-Host ("stackext: {0} dump(s), {1} failed; read the logs back with: stackext usage `"{2}`"" -f $dumps.Count, $failed, (Join-Path $OutFolder "*.txt"))
if ($failed) { exit 1 }
