# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: the controller-side vSphere session cache (issue 14: one login per play). Breaking changes at any time.

Per-host tasks (the rolling remediation runs ``esxi_patch_deploy`` twice per host) start one module process each;
without a cache each logs in to vCenter and out again. With the connection option ``session_cache`` the clients
(``VSphereClient`` for SOAP, the REST base ``_clients/rest.py`` for ``/rest`` and ``/api``) keep their session id
here, and the next module run on the same controller, as the same OS user, for the same endpoint, vSphere user AND
password, reuses it. A module run then does not log out; ``fleetpatch.esxi.vmware_session`` (state absent) logs
the cached sessions out at the end of the play and deletes their files.

The session id is handled as a credential:

* one directory per OS user: ``session_cache_dir``, else ``$XDG_RUNTIME_DIR/fleetpatch.esxi-sessions`` (a tmpfs
  that only the user can read), else ``~/.cache/fleetpatch.esxi/sessions``; created 0700; refused (a clear
  error naming it) when it is a symlink, not a directory or owned by another user; a group/other mode bit on
  our own directory is removed;
* every file is opened relative to that directory's descriptor with ``O_NOFOLLOW``; an entry is written to a
  new temporary file (``O_CREAT|O_EXCL``, mode 0600) and renamed over the old one (atomic); a file that is not a
  regular 0600 file of ours is ignored and removed;
* entries are keyed by the password: a key is derived with PBKDF2-HMAC-SHA256 from the password, salted with
  the kind of session, the endpoint and the vSphere user; the file name is an HMAC of that key (so neither the
  endpoint nor the user appears on disk), the content is encrypted with an HMAC-SHA256 keystream under a random
  nonce and authenticated with another HMAC of the key (encrypt-then-MAC). Another password finds no entry
  (and would fail the MAC), so a wrong password logs in (and fails as usual) and never reuses a session;
* every entry expires (``session_cache_ttl``, default 3600 s after the login); an expired session is logged out
  (best effort) before a new login;
* one ``flock`` per key (a ``.lock`` file next to the entry) around "read, check alive, log in, write": N
  concurrent module processes do one login per key, the others reuse it;
* a cached session the server no longer knows (vCenter restarted, logged out, idle timeout) is dropped and the
  client logs in again, transparently;
* the session id is registered with the one redactor (``_common.secrets.register_secret``) the moment it is
  read or issued, so no message, result or log line of the process can quote it.

``fcntl``-based: POSIX controllers only (as Ansible's controller is).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import hmac
import json
import os
import stat
import time
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import InputError
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.secrets import register_secret

ENV_ENABLE = "FLEETPATCH_SESSION_CACHE"
ENV_DIR = "FLEETPATCH_SESSION_CACHE_DIR"
ENV_TTL = "FLEETPATCH_SESSION_CACHE_TTL"
DEFAULT_TTL = 3600
# The kinds of session a vCenter gives us: SOAP (/sdk), vAPI REST (/rest), the newer REST flavour (/api).
KINDS = ("soap", "rest", "api")
FORMAT = 1
KDF_ITERATIONS = 50000          # about 30 ms once per process and endpoint/user/password
LOCK_TIMEOUT = 300.0            # a login holds the lock; a slow vCenter login can take a while
_SUFFIX = ".session"
_MAX_ENTRY = 64 * 1024
_MASTERS: Dict[Tuple[str, str, str, str], bytes] = {}


class SessionCacheError(InputError):
    """The cache directory or an entry cannot be used safely."""


def default_dir() -> str:
    """The per-OS-user directory when ``session_cache_dir`` is not set (see the module docstring)."""
    run = os.environ.get("XDG_RUNTIME_DIR")
    if run and os.path.isabs(run):
        try:
            st = os.stat(run)
            if stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid() and not st.st_mode & 0o077:
                return os.path.join(run, "fleetpatch.esxi-sessions")
        except OSError:
            pass
    return os.path.join(os.path.expanduser("~"), ".cache", "fleetpatch.esxi", "sessions")


def _flag(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on", "y", "t")


def cache_from_params(params: Dict[str, Any]) -> Optional["SessionCache"]:
    """The cache a module's connection options ask for (``session_cache``, ``session_cache_dir``,
    ``session_cache_ttl``), or None (the default: each run logs in and out). Clients built from other
    parameters (the inventory plugin, tests) read the same environment variables."""
    enabled = params.get("session_cache")
    if enabled is None:
        enabled = _flag(os.environ.get(ENV_ENABLE, ""))
    if not enabled:
        return None
    ttl = params.get("session_cache_ttl")
    if ttl is None:
        try:
            ttl = int(os.environ.get(ENV_TTL) or DEFAULT_TTL)
        except ValueError:
            raise InputError("%s must be a number of seconds" % ENV_TTL)
    return SessionCache(params.get("session_cache_dir") or os.environ.get(ENV_DIR) or None, ttl=int(ttl))


# ---- keys and the sealed entry -----------------------------------------------------------------------------------
def _master(endpoint: str, user: str, password: str) -> bytes:
    ident = (endpoint.lower(), user, password, "")
    key = _MASTERS.get(ident)
    if key is None:
        salt = "\0".join(("fleetpatch.esxi session cache", str(FORMAT), endpoint.lower(), user)).encode("utf-8")
        key = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, KDF_ITERATIONS)
        _MASTERS[ident] = key
    return key


def _hmac(key: bytes, *parts: bytes) -> bytes:
    return hmac.new(key, b"\0".join(parts), hashlib.sha256).digest()


class CacheKey(object):
    """Where one session of (kind, endpoint, user, password) lives and the keys that seal it."""

    def __init__(self, kind: str, endpoint: str, user: str, password: str) -> None:
        if kind not in KINDS:
            raise ValueError("unknown session kind %r" % kind)
        master = _master(endpoint, user, password)
        self.kind = kind
        self.name = _hmac(master, b"name", kind.encode()).hex()[:48] + _SUFFIX
        self._enc = _hmac(master, b"encrypt", kind.encode())
        self._mac = _hmac(master, b"mac", kind.encode())

    def _stream(self, nonce: bytes, size: int) -> bytes:
        out = bytearray()
        counter = 0
        while len(out) < size:
            out += _hmac(self._enc, nonce, counter.to_bytes(8, "big"))
            counter += 1
        return bytes(out[:size])

    def seal(self, session_id: str, created: float, expires: float) -> bytes:
        plain = json.dumps({"id": session_id, "created": created, "expires": expires}).encode("utf-8")
        nonce = os.urandom(16)
        data = bytes(a ^ b for a, b in zip(plain, self._stream(nonce, len(plain))))
        tag = _hmac(self._mac, self.name.encode(), nonce, data)
        return json.dumps({"format": FORMAT, "nonce": nonce.hex(), "data": data.hex(),
                           "tag": tag.hex()}).encode("utf-8")

    def open(self, blob: bytes) -> Optional[Dict[str, Any]]:
        """The entry ({id, created, expires}) or None when the blob is not ours (another password, tampered)."""
        try:
            doc = json.loads(blob.decode("utf-8"))
            nonce, data, tag = (bytes.fromhex(doc[k]) for k in ("nonce", "data", "tag"))
            if doc.get("format") != FORMAT:
                return None
        except (ValueError, KeyError, TypeError, AttributeError):
            return None
        if not hmac.compare_digest(tag, _hmac(self._mac, self.name.encode(), nonce, data)):
            return None
        try:
            entry = json.loads(bytes(a ^ b for a, b in zip(data, self._stream(nonce, len(data)))).decode("utf-8"))
        except ValueError:
            return None
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str) or not entry["id"]:
            return None
        return entry


# ---- the cache ---------------------------------------------------------------------------------------------------
class SessionCache(object):
    """The session files of one directory (see the module docstring)."""

    def __init__(self, directory: Optional[str] = None, ttl: int = DEFAULT_TTL,
                 lock_timeout: float = LOCK_TIMEOUT) -> None:
        self.directory = os.path.abspath(os.path.expanduser(directory or default_dir()))
        if ttl <= 0:
            raise InputError("session_cache_ttl must be a positive number of seconds, not %s" % ttl)
        self.ttl = int(ttl)
        self.lock_timeout = float(lock_timeout)

    def key(self, kind: str, endpoint: str, user: Optional[str], password: Optional[str]) -> CacheKey:
        return CacheKey(kind, endpoint, str(user or ""), str(password or ""))

    # -- the directory --
    def _unsafe(self, problem: str) -> SessionCacheError:
        return SessionCacheError("session cache directory %s cannot be used: %s (it must be a directory of the "
                                 "user running the module, mode 0700; fix it or set session_cache_dir)"
                                 % (self.directory, problem), source=self.directory)

    @contextlib.contextmanager
    def _dir(self) -> Iterator[int]:
        """A descriptor of the checked directory (created 0700 with its missing parents)."""
        old = os.umask(0o077)
        try:
            os.makedirs(self.directory, mode=0o700, exist_ok=True)
        except OSError as exc:
            raise self._unsafe(exc.strerror or str(exc))
        finally:
            os.umask(old)
        try:
            fd = os.open(self.directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        except OSError as exc:
            raise self._unsafe("a symbolic link" if exc.errno in (errno.ELOOP, errno.ENOTDIR)
                               else exc.strerror or str(exc))
        try:
            st = os.fstat(fd)
            if st.st_uid != os.geteuid():
                raise self._unsafe("owned by uid %d, not by uid %d" % (st.st_uid, os.geteuid()))
            if st.st_mode & 0o077:
                os.fchmod(fd, 0o700)
            yield fd
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def _locked(self, dfd: int, key: CacheKey) -> Iterator[None]:
        """The key's ``flock``. The lock file may be removed by ``take`` (logout) while others wait on it: a lock
        won on a file that is no longer the one in the directory is dropped and taken again."""
        deadline = time.monotonic() + self.lock_timeout
        name = key.name + ".lock"
        while True:
            fd = os.open(name, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600, dir_fd=dfd)
            try:
                st = os.fstat(fd)
                if st.st_uid != os.geteuid() or not stat.S_ISREG(st.st_mode):
                    raise self._unsafe("the lock file of an entry is not a file of the user")
                self._flock(fd, deadline)
                try:
                    same = os.stat(name, dir_fd=dfd, follow_symlinks=False).st_ino == st.st_ino
                except OSError:
                    same = False
            except BaseException:
                os.close(fd)
                raise
            if same:
                break
            os.close(fd)
        try:
            yield
        finally:
            os.close(fd)        # releases the lock

    def _flock(self, fd: int, deadline: float) -> None:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES) or time.monotonic() >= deadline:
                    raise self._unsafe("the lock of an entry was not released within %ss" % int(self.lock_timeout))
                time.sleep(0.02)

    # -- entries --
    def _load(self, dfd: int, key: CacheKey) -> Optional[Dict[str, Any]]:
        try:
            fd = os.open(key.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dfd)
        except OSError:
            return None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o077 \
                    or st.st_size > _MAX_ENTRY:
                entry = None
            else:
                entry = key.open(os.read(fd, _MAX_ENTRY))
        finally:
            os.close(fd)
        if entry is None:
            self._remove(dfd, key)      # not ours, not safe or unreadable: never used, never kept
            return None
        register_secret(entry["id"])
        return entry

    def _store(self, dfd: int, key: CacheKey, session_id: str) -> None:
        now = time.time()
        blob = key.seal(session_id, now, now + self.ttl)
        tmp = ".%s.%s.tmp" % (key.name, os.urandom(6).hex())
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=dfd)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(blob)
                f.flush()
                os.fsync(f.fileno())
            os.rename(tmp, key.name, src_dir_fd=dfd, dst_dir_fd=dfd)
        except BaseException:
            try:
                os.unlink(tmp, dir_fd=dfd)
            except OSError:
                pass
            raise

    @staticmethod
    def _remove(dfd: int, key: CacheKey) -> None:
        try:
            os.unlink(key.name, dir_fd=dfd)
        except OSError:
            pass

    # -- what the clients call --
    def obtain(self, key: CacheKey, login: Callable[[], str], alive: Callable[[str], bool],
               logout: Optional[Callable[[str], None]] = None) -> Tuple[str, bool]:
        """The session id to use and whether it was reused. Under the key's lock: a cached, unexpired session
        that ``alive(id)`` confirms is reused; an expired one is logged out (``logout(id)``, best effort); else
        ``login()`` (which raises on a refused login) and the new id is stored."""
        with self._dir() as dfd, self._locked(dfd, key):
            entry = self._load(dfd, key)
            if entry is not None:
                sid = entry["id"]
                if float(entry.get("expires") or 0) > time.time():
                    if alive(sid):
                        return sid, True
                elif logout is not None:
                    try:        # it expired: log it out, best effort
                        logout(sid)
                    except Exception:  # pylint: disable=broad-except
                        pass
                self._remove(dfd, key)
            sid = login()
            register_secret(sid)
            self._store(dfd, key, sid)
            return sid, False

    def exists(self) -> bool:
        """Whether the cache directory exists (a logout with nothing cached must not create it)."""
        return os.path.isdir(self.directory)

    def peek(self, key: CacheKey) -> Optional[str]:
        """The cached session id (expired or not), left in place; None when there is none."""
        if not os.path.lexists(os.path.join(self.directory, key.name)):
            return None
        with self._dir() as dfd, self._locked(dfd, key):
            entry = self._load(dfd, key)
            return entry["id"] if entry else None

    def discard(self, key: CacheKey, session_id: Optional[str] = None) -> None:
        """Delete the entry and its lock file (only if the entry still holds ``session_id`` when one is given):
        the server refused the session, or it was logged out."""
        if not self.exists():
            return
        with self._dir() as dfd, self._locked(dfd, key):
            if session_id is not None:
                entry = self._load(dfd, key)
                if entry is not None and entry["id"] != session_id:
                    return      # another process stored a newer session meanwhile: keep it
            self._remove(dfd, key)
            try:     # waiters on this lock file notice that it is gone (``_locked``) and take the new one
                os.unlink(key.name + ".lock", dir_fd=dfd)
            except OSError:
                pass

    def entries(self) -> List[str]:
        """The entry file names in the directory (for tests and housekeeping)."""
        with self._dir() as dfd:
            return sorted(n for n in os.listdir(dfd) if n.endswith(_SUFFIX))
