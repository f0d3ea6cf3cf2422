<#
.SYNOPSIS
  Run stackext over every crash dump in a folder with kd, one log per dump.

.DESCRIPTION
  For each *.dmp in -DumpFolder runs
    kd -z <dump> -y <sympath> -logo <out>\<dump>.txt -c ".load pykd; !py -m stackext.usage --format json; q"
  The JSON report sits between "----- stackext json begin/end -----" lines in each log, so
  `stackext usage <out>\*.txt` reads the logs back. Needs pykd's bootstrapper (pykd.dll) in kd's
  winext folder (or give -PykdPath) and stackext installed in the Python that pykd uses.

.EXAMPLE
  .\stackext-batch.ps1 -DumpFolder C:\dumps -OutFolder C:\dumps\stackext
  .\stackext-batch.ps1 -DumpFolder C:\dumps -SymbolPath "srv*C:\symbols*https://msdl.microsoft.com/download/symbols" -KdPath "C:\Program Files (x86)\Windows Kits\10\Debuggers\x64\kd.exe"
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][string]$DumpFolder,
    [string]$SymbolPath = $env:_NT_SYMBOL_PATH,
    [string]$KdPath = "kd.exe",
    [string]$OutFolder = "",
    [string]$PykdPath = "pykd",
    [string]$Filter = "*.dmp",
    [string]$ExtraArgs = ""
)

$ErrorActionPreference = "Stop"

if (-not (Test-Path -LiteralPath $DumpFolder -PathType Container)) {
    throw "no such folder: $DumpFolder"
}
if (-not $OutFolder) { $OutFolder = $DumpFolder }
New-Item -ItemType Directory -Force -Path $OutFolder | Out-Null
if (-not $SymbolPath) {
    $SymbolPath = "srv*$env:LOCALAPPDATA\symbols*https://msdl.microsoft.com/download/symbols"
}
$kd = Get-Command $KdPath -ErrorAction SilentlyContinue
if (-not $kd) { throw "kd not found: $KdPath (give -KdPath, e.g. the Windows Kits Debuggers\x64\kd.exe)" }

$commands = ".load $PykdPath; !py -m stackext.usage --format json $ExtraArgs; q".Replace("  ", " ")
$failed = 0
$dumps = @(Get-ChildItem -LiteralPath $DumpFolder -Filter $Filter -File)
foreach ($dump in $dumps) {
    $log = Join-Path $OutFolder ($dump.BaseName + ".txt")
    Write-Host "stackext: $($dump.Name) -> $log"
    # Arguments as an array: PowerShell quotes each one for kd's command line.
    & $kd.Source -z $dump.FullName -y $SymbolPath -logo $log -c $commands | Out-Null
    if ($LASTEXITCODE -ne 0) {
        Write-Warning "kd exited with $LASTEXITCODE for $($dump.Name)"
        $failed++
    }
}
Write-Host ("stackext: {0} dump(s), {1} failed; read the logs back with: stackext usage `"{2}`"" -f $dumps.Count, $failed, (Join-Path $OutFolder "*.txt"))
if ($failed) { exit 1 }
