@echo off
rem stackext over every *.dmp in a folder with kd, one log per dump (same as stackext-batch.ps1).
rem usage: stackext-batch.cmd DUMPFOLDER [OUTFOLDER] [SYMPATH] [KD]
setlocal
if "%~1"=="" (
  echo usage: %~nx0 DUMPFOLDER [OUTFOLDER] [SYMPATH] [KD]
  exit /b 2
)
set "DUMPS=%~1"
set "OUT=%~2"
if "%OUT%"=="" set "OUT=%DUMPS%"
set "SYM=%~3"
if "%SYM%"=="" set "SYM=%_NT_SYMBOL_PATH%"
if "%SYM%"=="" set "SYM=srv*%LOCALAPPDATA%\symbols*https://msdl.microsoft.com/download/symbols"
set "KD=%~4"
if "%KD%"=="" set "KD=kd.exe"
if not exist "%OUT%" mkdir "%OUT%"
set FAILED=0
for %%D in ("%DUMPS%\*.dmp") do (
  echo stackext: %%~nxD -^> "%OUT%\%%~nD.txt"
  "%KD%" -z "%%~fD" -y "%SYM%" -logo "%OUT%\%%~nD.txt" -c ".load pykd; !py -m stackext.usage --format json; q" >nul
  if errorlevel 1 set /a FAILED+=1
)
echo stackext: done, %FAILED% failed; read the logs back with: stackext usage "%OUT%\*.txt"
if not "%FAILED%"=="0" exit /b 1
endlocal
