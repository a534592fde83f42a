#if os(Linux)
import CSystemShims
import Glibc

/// When the launcher asks for it (environment `CRC_DIE_WITH_PARENT=<launcher pid>`), the kernel
/// sends this process SIGTERM as soon as its launcher dies, even by SIGKILL. crc-cluster sets it
/// for its own node executables, so no node ever outlives it; SIGTERM rather than SIGKILL, so each
/// node still leaves as it does when stopped (announces its departure, finishes its log).
public func dieWithParentIfAsked() {
    guard let value = getenv("CRC_DIE_WITH_PARENT"), let launcher = Int32(String(cString: value)) else { return }
    _ = crc_set_parent_death_signal(SIGTERM)
    // The launcher may already be gone (we were reparented before the call): then go too.
    if getppid() != launcher { exit(1) }
}
#else
public func dieWithParentIfAsked() {}
#endif
