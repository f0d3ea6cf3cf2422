"""Which modules are Windows' own (the inbox table) and which are a driver the user can fix.

Imports nothing of stackext.
"""

from __future__ import annotations

import re
from typing import Iterable, Optional

# Modules that ship with Windows (kernel and the user-mode core): frames in them are not the
# user's to fix. Matched without case. `--driver NAME` wins over this table.
INBOX_MODULES = frozenset(
    m.lower()
    for m in (
        # kernel core and HAL
        "nt", "ntoskrnl", "ntkrnlmp", "ntkrnlpa", "ntkrpamp", "hal", "halmacpi", "kdcom",
        "kdnet", "kd", "ci", "clfs", "cng", "ksecdd", "ksecpkg", "msrpc", "pshed", "werkernel",
        "tm", "ext-ms-win-ntos-werkernel", "mcupdate_genuineintel", "mcupdate_authenticamd",
        "bootvid", "skci", "securekernel", "intelpep", "acpiex", "acpi", "pci", "pdc",
        "partmgr", "volmgr", "volmgrx", "volsnap", "mountmgr", "disk", "classpnp", "storport",
        "storahci", "stornvme", "ataport", "atapi", "scsiport", "msisadrv", "vdrvroot", "spaceport",
        "fvevol", "rdyboost", "iorate", "ehstorclass", "fileinfo", "wof", "fltmgr", "ntfs",
        "refs", "fastfat", "exfat", "udfs", "cdfs", "npfs", "msfs", "mup", "rdbss", "mrxsmb",
        "mrxsmb20", "srv2", "srvnet", "wcifs", "bindflt", "cldflt", "storqosflt", "luafv",
        "wdfilter", "wdboot", "wd", "wdnisdrv", "applockerfltr", "bam", "ahcache", "cmimcext",
        "ndis", "tcpip", "netio", "afd", "afdmod", "tdx", "tdi", "wfplwfs", "fwpkclnt", "ndiswan",
        "netbt", "http", "mslldp", "nwifi", "vwififlt", "pacer", "ndisuio", "dxgkrnl",
        "dxgmms1", "dxgmms2", "basicrender", "basicdisplay", "watchdog", "monitor", "win32k",
        "win32kbase", "win32kfull", "cdd", "tsddd", "wdf01000", "wdfldr", "wpprecorder",
        "umpass", "hidclass", "hidparse", "hidusb", "hidi2c", "kbdclass", "kbdhid", "mouclass",
        "mouhid", "i8042prt", "usbhub", "usbhub3", "usbport", "usbehci", "usbxhci", "ucx01000",
        "udecx", "usbccgp", "usbstor", "uaspstor", "usbd", "winusb", "wudfrd", "wudfpf", "ks",
        "ksthunk", "portcls", "drmk", "hdaudbus", "hdaudio", "usbaudio", "bthport", "bthusb",
        "rfcomm", "serenum", "serial", "parport", "msgpioclx", "spbcx", "sercx", "sercx2",
        "gpioclx0101", "vmbus", "storvsc", "netvsc", "vmbkmcl", "winhvr", "winhv",
        "hvsocket", "vid", "peauth", "mssecflt", "condrv", "beep", "null", "rspndr", "lltdio",
        "intelppm", "amdppm", "processr", "acpipagr", "wmilib", "compbatt", "cmbatt", "battc",
        "wmiacpi", "tpm", "pcw", "filecrypt", "crashdmp", "dumpfve", "dump_diskdump",
        "dump_storahci", "dump_stornvme", "hwpolicy", "vmsproxy", "ufx01000",
        "urscx01000", "acx01000", "mmcss", "nsiproxy", "netadaptercx", "ndiscx",
        # seen in `lm` of a real Windows 10 2004 kernel dump (shared/kernel-dumps)
        "cea", "cimfs", "compositebus", "fs_rec", "lxcore",
        "ndisvirtualbus", "sgrmagent", "sleepstudyhelper", "uefi", "ucmcx", "vmsproxyhnic",
        "windowstrustedrt", "windowstrustedrtproxy", "afunix", "cdrom", "clipsp", "csc", "dam",
        "dfsc", "dump_dumpfve", "dump_dumpstorport", "gpuenergydrv", "kdnic", "lxss",
        "mcupdate", "mssmbios", "ndiscap", "netbios", "npsvctrig", "ntosext", "rdpbus",
        "storvsp", "swenum", "tbs", "umbus", "vfpext", "vmbkmclr", "vmbusr", "vpcivsp",
        "volume", "ws2ifsl",
        # seen in public kernel logs: the Teredo/ISATAP tunnel, Hyper-V's switch and VMBus HID
        "tunnel", "vmswitch", "vmbushid",
        # the HALs, the 5-level-paging kernel, and drivers of other and older Windows versions
        # (SMB1, RAS, QoS, RDP, the video port, SD/IDE storage, Bluetooth, Hyper-V guests, XP's
        # System Restore filter, NT's Services for Macintosh): all Microsoft's own
        "halacpi", "halaacpi", "halapic", "halmps", "ntkrla57", "win32ksgd", "srv", "mrxsmb10",
        "mrxdav", "bowser", "tcpip6", "tcpipreg", "wanarp", "ndproxy", "ndistapi", "raspppoe",
        "rasl2tp", "raspptp", "rassstp", "rasagilevpn", "rasacd", "psched", "mpsdrv", "bridge",
        "ndisimplatform", "wfplwf", "wdiwifi", "vwifibus", "nativewifip", "qwavedrv", "rdpdr",
        "rdpwd", "tdtcp", "termdd", "rdpdd", "rdpvideominiport", "videoprt", "vga", "vgapnp",
        "sdbus", "sdstor", "sffdisk", "storufs", "sdport", "bthenum", "bthmini", "bthleenum",
        "bthpan", "hidbth", "usbvideo", "usbccid", "usbprint", "usbaudio2", "wpdupfltr",
        "mskssrv", "mspclock", "mspqm", "intelide", "pciide", "pciidex", "msahci", "hvservice",
        "hvsocketcontrol", "vmgencounter", "vmgid", "storflt", "hyperkbd", "hypervideo",
        "synth3dvsc", "winnat", "wimmount", "prjflt", "filetrace", "mshidkmdf", "ucmucsicx",
        "buttonconverter", "hwnclx0101", "sr", "sfmatalk",
        # network usage monitor, Driver Verifier's extension, Virtual WiFi, VHD, kernel QUIC
        "ndu", "verifierext", "vwifimp", "vhdmp", "msquic",
        # storage multipath and iSCSI, Server's file-system filters and the cluster's drivers,
        # App-V's, the NFS client, smart cards, Hyper-V storage filters, TCG storage
        "mpio", "msdsm", "msiscsi", "dedup", "dfsrro", "svhdxflt", "wimfsf", "fsdepends",
        "appvvfs", "appvstrm", "wcnfs", "bfs", "hvsifltr", "winsetupmon", "csvfs", "csvflt",
        "clusdisk", "nfsrdr", "scfilter", "vmstorfl", "dmvsc", "ehstortcgdrv",
        # the network's: Packet Monitor, RAS (IKEv2 VPN by its image name, async media), NIC
        # teaming, the cluster's NetFT, XP's NAT, RNDIS and USB tethering, WiFiCx, Web Threat
        # Defense, SMB Direct, network virtualization, the RDS security filter; IPMI, IddCx
        "pktmon", "agilevpn", "asyncmac", "mslbfoprovider", "netft", "ipnat", "rndismp",
        "rndismp6", "usb8023", "wificx", "wtd", "smbdirect", "wnv", "tssecsrv", "ipmidrv",
        "indirectkmd",
        # user-mode services and session managers (csrss, lsass, the session manager)
        "lsm", "winsrvext", "csrsrv", "basesrv", "winsrv", "sxssrv", "lsasrv", "samsrv",
        "msv1_0", "kerberos", "schannel", "rpcss", "termsrv", "csrss", "lsass", "smss",
        "wininit", "winlogon", "services", "svchost", "conhost", "dwm", "explorer", "sihost",
        "taskhostw", "userenv", "profapi", "wldp", "wintrust", "ntmarta", "msasn1", "authz",
        "samlib", "netapi32", "wkscli", "srvcli", "logoncli", "dpapi", "kernel_appcore",
        "clbcatq", "mpr", "winsta", "wtsapi32", "rmclient", "twinapi", "coremessaging",
        "inputhost", "textinputframework", "ntasn1", "cryptsp", "rsaenh", "ncrypt", "sysmain",
        "audiosrv", "audiodg", "audioeng", "appinfo", "spinf", "drvstore", "umpnpmgr",
        # the Windows Script Host's runtime, COM+ Services, ICS's NAT helper and home networking
        # configuration, the DNS client service
        "wshom", "comsvcs", "ipnathlp", "hnetcfg", "dnsrslvr",
        # WMI (System32\wbem): the service's core, its providers' host and client proxies
        "wbemcore", "wmiprvsd", "wmiprvse", "wbemsvc", "wbemprox", "fastprox", "wmisvc",
        "wbemcomn", "repdrvfs", "esscli", "cimwin32",
        # System32's own programs, as a user-mode dump of one names its module
        "cmd", "net", "net1", "netsh", "ping", "ipconfig", "reg", "sc", "rundll32", "regsvr32",
        "dllhost", "notepad", "mmc", "taskmgr", "tasklist", "taskkill", "werfault", "wermgr",
        "msiexec", "wmic", "powershell", "runtimebroker", "searchindexer", "spoolsv",
        # x86 system calls return through the page WinDbg names SharedUserData (SystemCallStub)
        "shareduserdata",
        # user-mode core
        "ntdll", "kernel32", "kernelbase", "user32", "win32u", "gdi32", "gdi32full", "msvcrt",
        "ucrtbase", "ucrtbased", "combase", "rpcrt4", "ole32", "oleaut32", "advapi32", "sechost",
        "shell32", "shlwapi", "shcore", "usp10", "lpk", "imm32", "msctf", "uxtheme", "dwmapi",
        "duser",
        "bcrypt", "bcryptprimitives", "crypt32", "ws2_32", "mswsock", "wow64", "wow64win",
        "wow64cpu", "wow64base", "msvcp_win", "verifier", "vfbasics", "vrfcore",
        # WOW64's 32-bit ntdll as older WinDbg names it, and x86/x64 emulation on ARM64
        "ntdll32", "xtajit", "xtajit64", "xtabase", "wowarmhw",
        "apphelp", "cfgmgr32", "setupapi", "devobj", "powrprof", "umpdc", "sspicli", "cryptbase",
        "dbghelp", "dbgeng", "dbgcore", "windows_storage", "comctl32", "comdlg32", "d3d11",
        "dxgi", "d3d12", "opengl32", "winmm", "version", "psapi", "iphlpapi", "dnsapi",
        # the browser and web stack, COM/shell helpers, media and text (inbox DLLs)
        "urlmon", "wininet", "iertutil", "winhttp", "webio", "mshtml", "ieframe", "jscript",
        "jscript9", "vbscript", "mlang", "propsys", "oleacc", "riched20", "msftedit", "d2d1",
        "dwrite", "windowscodecs", "d3d9", "ddraw", "dsound", "mmdevapi", "audioses",
        "xmllite", "msxml3", "msxml6", "secur32", "netutils", "winspool", "sxs",
        # the .NET runtime and its precompiled framework (a managed app's own code is JIT code)
        "mscoree", "mscoreei", "mscorwks", "mscorsvr", "clr", "coreclr", "clrjit", "mscorjit",
        "mscorlib", "mscorlib_ni", "system_ni", "system_private_corelib", "hostpolicy",
        "hostfxr",
        # the boot manager and OS loader (boot applications)
        "bootmgfw", "bootmgr", "winload", "winresume",
        # IIS's worker process and runtime
        "iisrtl", "iiscore", "w3dt", "w3tp", "w3wphost", "w3isapi", "httpapi",
        # the user-mode driver hosts: UMDF (its framework, platform and host), the print
        # spooler's providers, isolation host, Microsoft's printer drivers and port monitors,
        # the audio engine's, sign-in's credential providers, the shell's frame, text input,
        # biometrics and imaging (WIA/STI), UI Automation, IddCx
        "wudfx02000", "wudfx", "wudfplatform", "wudfhost", "wudfsvc", "printconfig", "spoolss",
        "localspl", "win32spl", "printisolationhost", "printisolationproxy", "splwow64",
        "unidrv", "unidrvui", "pscript5", "mxdwdrv", "ntprint", "printui", "winprint", "usbmon",
        "tcpmon", "puiapi", "pmcsnap", "audiokse", "audioendpointbuilder", "wdmaud",
        "winmmbase", "avrt", "logonui", "authui", "credprovs", "credprovhost", "explorerframe",
        "twinui", "ctfmon", "msctfmonitor", "inputservice", "chsime", "winbio", "wbiosrvc",
        "winbiodatamodel", "wiaservc", "sti", "wiadss", "wiaaut", "uiautomationcore", "iddcx",
        # directory services (LDAP, ADSI, the DC's NTDS) and .NET's SOS debugger extension and
        # WPF assemblies (Microsoft's, not the app's code)
        "wldap32", "adsldpc", "adsldp", "ntdsai", "ntdsatq", "sos", "windowsbase",
        "presentationcore", "presentationframework", "uiautomationprovider",
    )
)
INBOX_PREFIXES = ("api-ms-win-", "ext-ms-win-", "wdtf", "mcupdate_")
# Microsoft's C/C++ runtimes and MFC of each Visual C++ version (redistributables, not the
# user's code), debug builds too: msvcr100, msvcp140d, vcruntime140_1, concrt140, mfc140u
VERSIONED_RE = re.compile(r"(?:msvc[rp]|vcruntime|concrt|mfc)\d{2,3}(?:_1)?u?d?\Z")


# A second module of one name gets its base address after it from WinDbg: the 32-bit ntdll of a
# WoW64 process in the 64-bit view, "ntdll_77980000!RtlpWaitOnCriticalSection+0x13e".
RENAMED_RE = re.compile(r"(.+)_(?:[0-9a-f]{8}|[0-9a-f]{16})\Z")


def is_inbox_module(module: Optional[str]) -> bool:
    if not module:
        return False
    m = module.lower()
    if m in INBOX_MODULES or m.startswith(INBOX_PREFIXES) or VERSIONED_RE.match(m):
        return True
    renamed = RENAMED_RE.match(m)
    return renamed is not None and renamed.group(1) in INBOX_MODULES


def is_driver_module(module: Optional[str], drivers: Iterable[str] = (),
                     microsoft: Optional[bool] = None) -> bool:
    """A frame the user can fix: named by --driver (`drivers`, lower case), or in a module that
    is not part of Windows (what the debugger read from the module's version resource wins over
    the name table)."""
    if not module:
        return False
    m = module.lower()
    if m in drivers:
        return True
    if microsoft is not None:
        return not microsoft
    return not is_inbox_module(module)
