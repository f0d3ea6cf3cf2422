@echo off
rem stackext over every crash dump in a folder with kd, one log per dump: the same options as
rem stackext-batch.ps1 (names are case-insensitive; the old positional form still works).
rem
rem   stackext-batch.cmd [-DumpFolder] DIR [-OutFolder DIR] [-SymbolPath PATH] [-Kd KD.EXE]
rem                      [-Pykd PYKD] [-Filter *.dmp] [-TimeoutSeconds 600] [-ExtraArgs "OPTIONS"]
rem
rem - A dump counts as failed when its log has no stackext JSON end marker (kd exits 0 even when
rem   `.load pykd` failed), or when kd runs longer than -TimeoutSeconds (it is then stopped).
rem - kd.exe: -Kd, else kd.exe on PATH, else the Windows Kits' Debuggers folder (registry value
rem   KitsRoot10).
rem - Symbol path: -SymbolPath, else _NT_SYMBOL_PATH, else Microsoft's symbol server; the dump's
rem   own folder is always added (PDBs next to the dump are found).
rem - kd runs `.load PYKD; !py stackext.usage; q` in this script's folder, where the launcher
rem   stackext.usage lies; the options (--format json and -ExtraArgs) reach it in STACKEXT_ARGS,
rem   as pykd.pyd's own `!py` does not pass arguments reliably.
rem - Safe under delayed expansion (`!py` would lose its `!`): it is switched off here.
setlocal EnableExtensions DisableDelayedExpansion
if "%~1"==":kd" goto :kd_worker

set "SELF=%~f0"
set "HOME_DIR=%~dp0"
set "DUMPS="
set "OUT="
set "SYM=%_NT_SYMBOL_PATH%"
set "KD="
set "PYKD=pykd"
set "FILTER=*.dmp"
set "TIMEOUT_S=600"
set "EXTRA="
set "POS=0"

:args
if "%~1"=="" goto :args_done
set "OPT=%~1"
if not "%OPT:~0,1%"=="-" goto :positional
if "%~2"=="" goto :missing_value
set "KNOWN="
if /i "%OPT%"=="-DumpFolder" set "KNOWN=1" & set "DUMPS=%~2"
if /i "%OPT%"=="-OutFolder" set "KNOWN=1" & set "OUT=%~2"
if /i "%OPT%"=="-SymbolPath" set "KNOWN=1" & set "SYM=%~2"
if /i "%OPT%"=="-Kd" set "KNOWN=1" & set "KD=%~2"
if /i "%OPT%"=="-KdPath" set "KNOWN=1" & set "KD=%~2"
if /i "%OPT%"=="-Pykd" set "KNOWN=1" & set "PYKD=%~2"
if /i "%OPT%"=="-PykdPath" set "KNOWN=1" & set "PYKD=%~2"
if /i "%OPT%"=="-Filter" set "KNOWN=1" & set "FILTER=%~2"
if /i "%OPT%"=="-TimeoutSeconds" set "KNOWN=1" & set "TIMEOUT_S=%~2"
if /i "%OPT%"=="-ExtraArgs" set "KNOWN=1" & set "EXTRA=%~2"
if not defined KNOWN goto :bad_option
shift
shift
goto :args
:positional
set /a POS+=1
if %POS%==1 set "DUMPS=%~1"
if %POS%==2 set "OUT=%~1"
if %POS%==3 set "SYM=%~1"
if %POS%==4 set "KD=%~1"
shift
goto :args

:missing_value
echo stackext-batch: %OPT% needs a value
exit /b 2
:bad_option
echo stackext-batch: unknown option %OPT% (see the top of %~nx0)
exit /b 2

:args_done
if not defined DUMPS (
  echo usage: %~nx0 [-DumpFolder] DIR [-OutFolder DIR] [-SymbolPath PATH] [-Kd KD.EXE] [-Pykd PYKD] [-Filter *.dmp] [-TimeoutSeconds 600] [-ExtraArgs "OPTIONS"]
  exit /b 2
)
if not exist "%DUMPS%\" (
  echo stackext-batch: no such folder: %DUMPS%
  exit /b 2
)
set "SECONDS_OK="
set /a "SECONDS_OK=%TIMEOUT_S%" >nul 2>&1
if not "%SECONDS_OK%"=="%TIMEOUT_S%" set "SECONDS_OK=0"
if %SECONDS_OK% leq 0 (
  echo stackext-batch: -TimeoutSeconds must be a positive number of seconds
  exit /b 2
)
if not defined OUT set "OUT=%DUMPS%"
if not exist "%OUT%\" mkdir "%OUT%"
for %%O in ("%OUT%") do set "OUT=%%~fO"
if not defined SYM set "SYM=srv*%LOCALAPPDATA%\symbols*https://msdl.microsoft.com/download/symbols"
if not defined KD for %%K in (kd.exe) do set "KD=%%~$PATH:K"
if not defined KD call :kits_kd
if not defined KD (
  echo stackext-batch: kd.exe not found: give -Kd, put kd.exe on PATH, or install the Debugging Tools for Windows ^(Windows SDK^)
  exit /b 2
)
if not exist "%KD%" (
  echo stackext-batch: kd not found: %KD%
  exit /b 2
)
set "STACKEXT_ARGS=--format json %EXTRA%"

rem an unquoted pattern in the dump folder (Wine's cmd matches no quoted wildcard)
pushd "%DUMPS%"
set "TOTAL=0"
for %%D in (%FILTER%) do set /a TOTAL+=1
set "N=0"
set "FAILED=0"
echo stackext: %TOTAL% dump(s) in %DUMPS% with %KD%, timeout %TIMEOUT_S% s each
for %%D in (%FILTER%) do call :one "%%~fD"
popd
echo stackext: %TOTAL% dump(s), %FAILED% failed; read the logs back with: stackext usage "%OUT%\*.txt"
if not "%FAILED%"=="0" exit /b 1
exit /b 0

rem ---- one dump: kd in the background, a line of progress every 5 s, the log checked ----------
:one
set /a N+=1
set "LOG=%OUT%\%~n1.txt"
set "DONE=%OUT%\%~n1.kd-exit"
if exist "%LOG%" del "%LOG%"
if exist "%DONE%" del "%DONE%"
echo stackext: [%N%/%TOTAL%] %~nx1 -^> "%LOG%"
start "stackext-kd %~n1" /min cmd /d /v:off /c ""%SELF%" :kd "%~f1""
set "WAITED=0"
:wait
if exist "%DONE%" goto :finished
if %WAITED% geq %TIMEOUT_S% goto :timed_out
ping -n 2 127.0.0.1 >nul
set /a WAITED+=1
set /a "TICK=WAITED %% 5"
if %TICK%==0 echo stackext:   %~nx1: kd still running after %WAITED% s
goto :wait
:timed_out
taskkill /f /t /fi "WINDOWTITLE eq stackext-kd %~n1" >nul 2>&1
echo stackext:   %~nx1: FAILED: kd did not finish within %TIMEOUT_S% s (stopped)
set /a FAILED+=1
goto :eof
:finished
if exist "%DONE%" del "%DONE%"
set "JSON="
if exist "%LOG%" call :has_json "%LOG%"
if not defined JSON (
  echo stackext:   %~nx1: FAILED: no stackext JSON in the log ^(did .load %PYKD% and !py stackext.usage run?^)
  set /a FAILED+=1
)
goto :eof

rem find, not findstr: Wine's findstr /c: finds nothing and says it did
:has_json
find "----- stackext json end -----" %1 >nul 2>&1
if not errorlevel 1 set "JSON=1"
goto :eof

rem ---- the background worker: kd on one dump, then a file that says it is done -----------------
:kd_worker
pushd "%HOME_DIR%"
"%KD%" -z "%~2" -y "%SYM%;%~dp2." -logo "%LOG%" -c ".load %PYKD%; !py stackext.usage; q" >nul 2>&1
>"%DONE%" echo %errorlevel%
popd
exit

rem ---- kd.exe from the Windows Kits (registry value KitsRoot10) ---------------------------------
:kits_kd
set "KDARCH=x64"
if /i "%PROCESSOR_ARCHITECTURE%"=="ARM64" set "KDARCH=arm64"
if /i "%PROCESSOR_ARCHITECTURE%"=="x86" set "KDARCH=x86"
for %%R in ("HKLM\SOFTWARE\Microsoft\Windows Kits\Installed Roots" "HKLM\SOFTWARE\WOW6432Node\Microsoft\Windows Kits\Installed Roots") do (
  for /f "tokens=1,2,*" %%A in ('reg query %%R /v KitsRoot10 2^>nul') do (
    if /i "%%A"=="KitsRoot10" if not defined KD if exist "%%~CDebuggers\%KDARCH%\kd.exe" set "KD=%%~CDebuggers\%KDARCH%\kd.exe"
  )
)
goto :eof
