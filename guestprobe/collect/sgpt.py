"""sg3_utils' own pass-through library (libsgutils2) through ctypes: one SCSI command, in-process.

Every sg3_utils tool is a thin main() over libsgutils2; calling the same functions sends the same
command at the ioctl's cost instead of a process start's. This module only *loads* the library
(whatever its soname: ``libsgutils2.so.2`` on RHEL/SUSE, ``libsgutils2-1.46.so.2`` on Debian),
declares every function it calls with its argument and result types, and sends one CDB:
:meth:`PassThrough.send` returns what happened as a :class:`PtAnswer`. Which CDBs a tool's argv
stands for is :mod:`guestprobe.collect.lib_engine`'s job.

The functions used exist in every release from 1.37 to 1.48 (checked against the headers of
each, tests/vm/.cache/sg3/<release>/*/include): ``sg_get_sense_str`` returns ``void`` in 1.37
and ``char *`` later, so its result is never read (the buffer is); newer functions
(``construct_scsi_pt_obj_with_fd``, ``sg_get_category_sense_str``) are not needed.
"""


import ctypes
import errno
import os
import re
import stat
import time
from pathlib import Path
from typing import Any

# sg_pt.h
SCSI_PT_DO_BAD_PARAMS = 1
SCSI_PT_DO_TIMEOUT = 2
SCSI_PT_RESULT_GOOD = 0
SCSI_PT_RESULT_STATUS = 1
SCSI_PT_RESULT_SENSE = 2
SCSI_PT_RESULT_TRANSPORT_ERR = 3
SCSI_PT_RESULT_OS_ERR = 4
SENSE_BUFF_LEN = 64  # sg_cmds_basic.c: the tools' sense buffer
SAM_STAT_RESERVATION_CONFLICT = 0x18

# Where the distributions put the library (RHEL and SUSE: lib64; Debian and Ubuntu: the triplet)
_KNOWN_GLOBS = (
    "/usr/lib64/libsgutils2*.so.2",
    "/usr/lib/*-linux-gnu/libsgutils2*.so.2",
    "/lib/*-linux-gnu/libsgutils2*.so.2",
    "/usr/lib/libsgutils2*.so.2",
    "/lib64/libsgutils2*.so.2",
)

# sg_lib_version() -> the sg3_utils release that ships it (lib/sg_lib_data.c of each tarball)
LIB_RELEASES = {
    "1.88": (1, 37),
    "2.58": (1, 44),
    "2.79": (1, 46),
    "2.83": (1, 47),
    "3.08": (1, 48),
}

_VOIDP, _INT, _CHARP = ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p
_BYTES = ctypes.POINTER(ctypes.c_ubyte)
# name: (restype, argtypes) — every function this module calls
_SIGNATURES = {
    "sg_lib_version": (_CHARP, []),
    "scsi_pt_open_device": (_INT, [_CHARP, _INT, _INT]),  # bool read_only: an int in 1.37
    "scsi_pt_close_device": (_INT, [_INT]),
    "construct_scsi_pt_obj": (_VOIDP, []),
    "destruct_scsi_pt_obj": (None, [_VOIDP]),
    "set_scsi_pt_cdb": (None, [_VOIDP, _BYTES, _INT]),
    "set_scsi_pt_sense": (None, [_VOIDP, _BYTES, _INT]),
    "set_scsi_pt_data_in": (None, [_VOIDP, _BYTES, _INT]),
    "set_scsi_pt_data_out": (None, [_VOIDP, _BYTES, _INT]),
    "do_scsi_pt": (_INT, [_VOIDP, _INT, _INT, _INT]),
    "get_scsi_pt_result_category": (_INT, [_VOIDP]),
    "get_scsi_pt_resid": (_INT, [_VOIDP]),
    "get_scsi_pt_status_response": (_INT, [_VOIDP]),
    "get_scsi_pt_sense_len": (_INT, [_VOIDP]),
    "get_scsi_pt_os_err": (_INT, [_VOIDP]),
    "get_scsi_pt_transport_err": (_INT, [_VOIDP]),
    "sg_err_category_sense": (_INT, [_BYTES, _INT]),
    # void in 1.37, char * later: the result is never read
    "sg_get_sense_str": (None, [_CHARP, _BYTES, _INT, _INT, _INT, _CHARP]),
}


class LibraryUnusable(Exception):
    """libsgutils2 was not found, did not load, or lacks a function: the CLI engine is used."""


def candidates() -> "list[str]":
    """Where libsgutils2 may be, in the order tried, whatever its soname.

    No ``ctypes.util.find_library``: it runs ``ldconfig -p`` (or gcc), a process start per scan
    and outside process.py. No bare soname either: the loader's own search could not be checked
    (:func:`untrusted_reason`). Instead: ``GUESTPROBE_LIBSGUTILS2`` (an explicit path: the rig's
    matrix builds), the directories of ``LD_LIBRARY_PATH``, then the distributions' library
    directories (Debian and Ubuntu name it after the release: ``libsgutils2-1.46.so.2``).
    """
    explicit = os.environ.get("GUESTPROBE_LIBSGUTILS2")
    if explicit:
        return [explicit]
    found: "list[str]" = []
    for directory in filter(None, os.environ.get("LD_LIBRARY_PATH", "").split(":")):
        found += sorted(str(path) for path in Path(directory).glob("libsgutils2*.so.2"))
    for pattern in _KNOWN_GLOBS:
        found += sorted(str(path) for path in Path("/").glob(pattern.lstrip("/")))
    return found


def untrusted_reason(path: str) -> "str | None":
    """Why a scan running as root must not load ``path`` (its constructors would run as root);
    None when it may: the file, after symlinks, and every directory above it and above the
    path as given are owned by root and writable by nobody else (or, for a directory, sticky
    like /tmp: then only root may replace root's entry in it). Not root: None.

    >>> untrusted_reason("/var/tmp/x/libsgutils2.so.2")  # doctest: +SKIP
    "/var/tmp/x/libsgutils2.so.2: /var/tmp/x is not owned by root"
    """
    if os.geteuid() != 0:
        return None
    given = str(Path(path).absolute())
    real = os.path.realpath(given)
    checked = [real, *_parents(real), *_parents(given)]
    for name in dict.fromkeys(checked):  # in order, each once
        try:
            info = os.stat(name)
        except OSError as exc:
            return f"{path}: {name}: {exc.strerror}"
        if info.st_uid != 0:
            return f"{path}: {name} is not owned by root"
        sticky_dir = stat.S_ISDIR(info.st_mode) and info.st_mode & stat.S_ISVTX
        if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not sticky_dir:
            # /tmp (1777) is fine: nobody else may rename or remove root's entry in it
            return f"{path}: {name} is writable by group or others"
    return None


def _parents(path: str) -> "list[str]":
    return [str(parent) for parent in Path(path).parents]


def _load_trusted(path: str) -> "Any":
    """ctypes.CDLL of the file ``path`` names (resolved, so that the file checked is the file
    loaded), only when :func:`untrusted_reason` has nothing against it."""
    reason = untrusted_reason(path)
    if reason is not None:
        raise OSError(f"not loaded: {reason}")
    return ctypes.CDLL(os.path.realpath(path))


def release_of_version(version: str) -> "tuple[int, int] | None":
    """``'2.79 20210304'`` -> (1, 46); None when the library's version is not in the table."""
    match = re.match(r"\s*(\d+\.\d+)", version)
    return LIB_RELEASES.get(match.group(1)) if match else None


class PtAnswer:
    """What one pass-through command did (the library's view, before a tool's judgement)."""

    __slots__ = (
        "buffer",  # the whole data-in buffer, received bytes and the zeros after them
        "category",
        "data",
        "do_result",
        "duration_s",
        "os_errno",
        "resid",
        "sense",
        "status",
        "transport_err",
    )  # fmt: skip

    def __init__(self, **values: "Any") -> None:
        for name in self.__slots__:
            setattr(self, name, values.get(name))


class PassThrough:
    """libsgutils2, loaded, with every function used declared."""

    def __init__(self, path: "str | None" = None, loader: "Any" = _load_trusted) -> None:
        errors = []
        for candidate in [path] if path else candidates():
            try:
                self.lib = loader(candidate)
                break
            except OSError as exc:
                errors.append(str(exc))
        else:
            raise LibraryUnusable(
                "libsgutils2 did not load: " + ("; ".join(errors[:1]) or "not found")
            )
        self.path = path or candidate
        for name, (restype, argtypes) in _SIGNATURES.items():
            try:
                function = getattr(self.lib, name)
            except AttributeError:
                raise LibraryUnusable(f"{self.path} has no {name}()") from None
            function.restype = restype
            function.argtypes = argtypes
        self.version = (self.lib.sg_lib_version() or b"").decode("ascii", "replace")
        self.release = release_of_version(self.version)

    def open(self, device: str, read_only: bool) -> int:
        """A file descriptor, or a negated errno (as scsi_pt_open_device returns)."""
        return self.lib.scsi_pt_open_device(device.encode(), 1 if read_only else 0, 0)

    def close(self, fd: int) -> None:
        self.lib.scsi_pt_close_device(fd)

    def send(
        self,
        fd: int,
        cdb: bytes,
        timeout_s: int,
        data_in: int = 0,
        data_out: "bytes | None" = None,
    ) -> "PtAnswer":
        """Send ``cdb`` on ``fd``; ``data_in`` bytes may come back, ``data_out`` goes out."""
        lib = self.lib
        obj = lib.construct_scsi_pt_obj()
        if not obj:
            return PtAnswer(do_result=-errno.ENOMEM, os_errno=errno.ENOMEM, duration_s=0.0)
        cdb_buf = (ctypes.c_ubyte * len(cdb)).from_buffer_copy(cdb)
        sense = (ctypes.c_ubyte * SENSE_BUFF_LEN)()
        din = (ctypes.c_ubyte * max(1, data_in))()
        try:
            lib.set_scsi_pt_cdb(obj, cdb_buf, len(cdb))
            lib.set_scsi_pt_sense(obj, sense, SENSE_BUFF_LEN)
            if data_in:
                lib.set_scsi_pt_data_in(obj, din, data_in)
            if data_out is not None:
                dout = (ctypes.c_ubyte * max(1, len(data_out))).from_buffer_copy(data_out or b"\0")
                lib.set_scsi_pt_data_out(obj, dout, len(data_out))
            start = time.monotonic()
            result = lib.do_scsi_pt(obj, fd, int(timeout_s), 0)
            duration = time.monotonic() - start
            resid = lib.get_scsi_pt_resid(obj) if data_in else 0
            received = max(0, min(data_in, data_in - resid))
            sense_len = max(0, min(SENSE_BUFF_LEN, lib.get_scsi_pt_sense_len(obj)))
            return PtAnswer(
                do_result=result,
                category=lib.get_scsi_pt_result_category(obj),
                status=lib.get_scsi_pt_status_response(obj),
                resid=resid,
                data=bytes(din[:received]),
                buffer=bytes(din[:data_in]),
                sense=bytes(sense[:sense_len]),
                os_errno=lib.get_scsi_pt_os_err(obj),
                transport_err=lib.get_scsi_pt_transport_err(obj),
                duration_s=duration,
            )
        finally:
            lib.destruct_scsi_pt_obj(obj)

    def sense_category(self, sense: bytes) -> int:
        buf = (ctypes.c_ubyte * max(1, len(sense))).from_buffer_copy(sense or b"\0")
        return self.lib.sg_err_category_sense(buf, len(sense))

    def sense_text(self, sense: bytes) -> str:
        """The sense decoded as the tools print it with --verbose (sg_get_sense_str)."""
        buf = (ctypes.c_ubyte * max(1, len(sense))).from_buffer_copy(sense or b"\0")
        out = ctypes.create_string_buffer(1024)
        self.lib.sg_get_sense_str(None, buf, len(sense), 0, len(out), out)
        return out.value.decode("utf-8", "replace")
