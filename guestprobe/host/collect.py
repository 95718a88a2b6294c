"""Touching the host: domain XML through libvirt (read-only), from a file, or a KubeVirt VMI.

The ONE module that imports the ``libvirt`` binding, lazily, so that nothing else of guestprobe
needs it (it is ``python3-libvirt`` on RHEL 8/9 AppStream and Debian; ``pip install
libvirt-python`` elsewhere). The connection is opened with ``openReadOnly``: guestprobe never
changes a domain. Whether a disk's qemu-pr-helper runs is read from ``/proc`` (no process is
started). Every failure a user can meet is a :class:`HostUnavailableError` or a
:class:`~guestprobe.errors.BadInputError`: one line and a documented exit status.
"""


import os
from pathlib import Path
from typing import Any, Dict, List, NamedTuple, Optional

from guestprobe.document.host import HostDomain, with_facts
from guestprobe.errors import BadInputError, ExitStatus, GuestprobeError
from guestprobe.host.domain_xml import MAX_HOST_INPUT_BYTES, decode_domain

LIBVIRT_STATES = {0: "nostate", 1: "running", 2: "blocked", 3: "paused", 4: "shutdown",
                  5: "shutoff", 6: "crashed", 7: "pmsuspended"}


class HostUnavailableError(GuestprobeError):
    """libvirt is not importable, the connection fails, or a named domain does not exist."""

    exit_status = ExitStatus.HOST_UNAVAILABLE


def _libvirt() -> "Any":
    try:
        import libvirt  # the only import of the binding in guestprobe
    except ImportError:
        raise HostUnavailableError(
            "the libvirt Python binding is not installed: 'dnf install python3-libvirt' (RHEL "
            "8/9 AppStream), 'apt-get install python3-libvirt', or pass a dumpxml with --xml"
        ) from None
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)  # no libvirt text on stderr
    return libvirt


class LibvirtDomain(NamedTuple):
    """One domain as libvirt gives it: its XML, its state, its id while it runs."""

    xml: str
    state: str
    id: "Optional[int]"
    uri: str


def read_libvirt(uri: "Optional[str]", names: "List[str]") -> "List[LibvirtDomain]":
    """(xml text, state, libvirt id) of each named domain, or of every domain when none named."""
    libvirt = _libvirt()
    try:
        conn = libvirt.openReadOnly(uri)
    except libvirt.libvirtError as exc:
        raise HostUnavailableError(
            f"cannot connect to libvirt at {uri or 'the default URI'}: {exc}"
        ) from None
    try:
        if names:
            domains = []
            for name in names:
                try:
                    domains.append(conn.lookupByName(name))
                except libvirt.libvirtError:
                    raise HostUnavailableError(
                        f"no domain named {name!r} on {conn.getURI()}"
                    ) from None
        else:
            domains = sorted(conn.listAllDomains(0), key=lambda d: d.name())
        out = []
        for domain in domains:
            state = domain.state()[0]
            out.append(LibvirtDomain(
                xml=domain.XMLDesc(0),
                state=LIBVIRT_STATES.get(state, str(state)),
                id=domain.ID() if domain.isActive() else None,
                uri=conn.getURI(),
            ))
        return out
    finally:
        conn.close()


def _cmdlines(proc: "Path") -> "List[List[str]]":
    out = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if raw:
            out.append(raw.decode("utf-8", "replace").rstrip("\0").split("\0"))
    return out


def pr_helper_sockets(proc: "Path" = Path("/proc")) -> "List[str]":
    """The socket path of every running qemu-pr-helper (``-k PATH`` / ``--socket=PATH``)."""
    sockets = []
    for argv in _cmdlines(proc):
        if not argv or not Path(argv[0]).name.startswith("qemu-pr-helper"):
            continue
        for i, arg in enumerate(argv):
            if arg in ("-k", "--socket") and i + 1 < len(argv):
                sockets.append(argv[i + 1])
            elif arg.startswith("--socket="):
                sockets.append(arg.split("=", 1)[1])
            elif arg.startswith("-k") and len(arg) > 2:
                sockets.append(arg[2:])
    return sockets


def pr_helpers_running(domain: "Dict[str, Any]", sockets: "List[str]",
                       live_id: "Optional[int]") -> "List[Optional[bool]]":
    """Whether each disk's qemu-pr-helper runs (true/false; None where it has no reservations).

    A managed helper listens on ``.../domain-<id>-<name>/pr-helper0.sock`` (libvirt's per-domain
    directory); an unmanaged one on the ``<source path=.../>`` the XML names."""
    typed = HostDomain.from_dict(domain, "domain")
    out: "List[Optional[bool]]" = []
    for disk in typed.disks:
        reservations = disk.reservations
        if not reservations.enabled:
            out.append(disk.pr_helper_running)
        elif typed.state != "running":
            out.append(False)
        elif reservations.managed:
            marker = f"/domain-{live_id}-"
            out.append(live_id is not None and any(
                marker in s and s.endswith("/pr-helper0.sock") for s in sockets
            ))
        else:
            out.append(reservations.socket_path in sockets)
    return out


def mark_pr_helpers(domain: "Dict[str, Any]", sockets: "List[str]",
                    live_id: "Optional[int]") -> "Dict[str, Any]":
    """The domain (as decoded) with each disk's ``pr_helper_running`` set
    (:func:`pr_helpers_running`)."""
    return with_facts(domain, disks_running=pr_helpers_running(domain, sockets, live_id))


def domains_from_libvirt(uri: "Optional[str]", names: "List[str]") -> "List[Dict[str, Any]]":
    sockets = pr_helper_sockets()
    out = []
    for entry in read_libvirt(uri, names):
        domain = with_facts(decode_domain(entry.xml, "libvirt domain XML"), state=entry.state,
                            source={"kind": "libvirt", "uri": entry.uri})
        out.append(mark_pr_helpers(domain, sockets, entry.id))
    return out


def _read_host_input(path: str) -> bytes:
    """A domain XML or VMI file, at most MAX_HOST_INPUT_BYTES (BadInputError past it)."""
    from guestprobe.document.inputs import read_input_file

    try:
        size = os.stat(path).st_size
    except OSError:
        size = 0  # read_input_file says why in one line
    data = read_input_file(path) if size <= MAX_HOST_INPUT_BYTES else b""
    if size > MAX_HOST_INPUT_BYTES or len(data) > MAX_HOST_INPUT_BYTES:
        raise BadInputError(f"{path}: larger than the {MAX_HOST_INPUT_BYTES // (1024 * 1024)} "
                            "MiB a domain XML or VMI may be")
    return data


def domain_from_file(path: str) -> "Dict[str, Any]":
    data = _read_host_input(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInputError(f"{path}: not UTF-8 text") from None
    return with_facts(decode_domain(text, path), source={"kind": "xml", "file": Path(path).name})


def load_vmi(path: str) -> "Dict[str, Any]":
    """A VirtualMachineInstance as JSON; as YAML only where PyYAML imports (no target ships it)."""
    from guestprobe.document.inputs import load_json

    data = _read_host_input(path)
    if data.lstrip()[:1] in (b"{", b"["):
        document = load_json(data, path)
    else:
        try:
            import yaml  # noqa: F401 -- only to say so when it is missing
        except ImportError:
            raise BadInputError(
                f"{path}: YAML needs PyYAML, which is not installed; give the VMI as JSON "
                "(kubectl get vmi NAME -o json)"
            ) from None
        from guestprobe.host.yamlin import load_yaml

        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise BadInputError(f"{path}: not UTF-8 text") from None
        document = load_yaml(text, path)
    if not isinstance(document, dict) or document.get("kind") not in (
        "VirtualMachineInstance", "VirtualMachine"
    ):
        raise BadInputError(f"{path}: not a KubeVirt VirtualMachineInstance (kind missing)")
    from guestprobe.host.kubevirt import decode_vmi

    return with_facts(decode_vmi(document, path), source={"kind": "vmi", "file": Path(path).name})


