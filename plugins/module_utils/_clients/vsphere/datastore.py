# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: datastore files over HTTPS ``/folder`` with the SOAP session cookie. Breaking changes at any time.

``DatastoreFiles(client)`` uploads (streamed), downloads, stats and lists files of a datastore, and deletes files
and makes folders through ``FileManager`` (``DeleteDatastoreFile_Task``/``MakeDirectory``). URLs have the form
``https://<vcenter-or-esxi>/folder/<path>?dcPath=<datacenter path>&dsName=<datastore>``: through vCenter the
datacenter's inventory path, on ESXi ``ha-datacenter``. The session is the client's (``vmware_soap_session``
cookie), TLS verification follows the client's ``validate_certs``/``ca_path``.
Besides ``clients/_http.py`` (depot downloads) this is the only HTTP code of the collection.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import tempfile
import traceback
import warnings
from urllib.parse import quote

from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.http import session_factory, tls_verify
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import (
    AuthenticationError, ConnectionFailedError, FleetpatchError, InputError, NotFoundError, VSphereError)
from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.tasks import (
    CERT_HINT, redact, translate, vim, wait_for_task)
from typing import Any, Dict, List, Optional, Tuple, Union

try:
    from requests import exceptions as _rexc
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - depends on the controller
    _rexc = None  # type: ignore[assignment]
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()

_CHUNK = 1024 * 1024


def require_requests() -> None:
    if not HAS_REQUESTS:
        raise VSphereError("the Python library requests is required for datastore file transfers "
                           "(pip install requests)", import_error=REQUESTS_IMPORT_ERROR)


def clean_path(path: str) -> str:
    """Normalize a datastore-relative path (``a/b/c.zip``); refuse ``..``, empty and absolute host paths."""
    if path is None:
        raise InputError("a datastore path is required")
    text = str(path).replace("\\", "/").strip()
    if text.startswith("["):
        # "[datastore] folder/file" form: keep the part after the datastore name
        end = text.find("]")
        text = text[end + 1:].strip() if end > 0 else text
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise InputError("datastore path %r must not contain '..'" % (path,))
    return "/".join(parts)


def ds_path(datastore: str, path: str) -> str:
    """``[datastore] path`` (the form FileManager and the datastore browser use)."""
    p = clean_path(path)
    return "[%s] %s" % (datastore, p) if p else "[%s]" % datastore


def folder_url(endpoint: str, datastore: str, path: str, dc_path: str) -> str:
    """``https://<endpoint>/folder/<path>?dcPath=<dc>&dsName=<ds>`` with every part quoted."""
    p = clean_path(path)
    return "https://%s/folder/%s?dcPath=%s&dsName=%s" % (
        endpoint, quote(p, safe="/"), quote(dc_path or "ha-datacenter", safe=""), quote(datastore, safe=""))


def gueststore_url(datastore_url: str, folder: str) -> str:
    """GuestStore repository URL: the datastore's ``summary.url`` (``ds:///vmfs/volumes/<uuid>/``) + folder."""
    if not datastore_url:
        raise InputError("the datastore has no URL")
    base = datastore_url if datastore_url.endswith("/") else datastore_url + "/"
    return base + clean_path(folder)


class DatastoreFiles(object):
    """File operations on the datastores of a ``VSphereClient``'s session."""

    def __init__(self, client: Any, timeout: Optional[Any] = None, chunk_size: int = _CHUNK) -> None:
        require_requests()
        self.client = client
        self.timeout = timeout or client.timeout
        self.chunk_size = chunk_size
        self._session: Any = None
        self._ds_cache: Dict[Any, Dict[str, Any]] = {}

    # ---- plumbing --------------------------------------------------------------------------------
    def _verify(self) -> Union[bool, str]:
        return tls_verify(self.client.validate_certs, self.client.ca_path)

    def _http(self) -> Any:
        if self._session is None:
            self._session = session_factory(self.client.validate_certs, self.client.ca_path, trust_env=False,
                                            proxies=getattr(self.client, "proxies", None),
                                            user_agent="fleetpatch.esxi datastore client")
        session = self._session
        session.headers["Cookie"] = self.client.session_cookie
        return session

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def datastore(self, name: str, host: Optional[Any] = None) -> Dict[str, Any]:
        """The datastore record (see ``VSphereClient.find_datastore``), cached per name."""
        key = (name, getattr(host, "moid", host))
        if key not in self._ds_cache:
            self._ds_cache[key] = self.client.find_datastore(name, host=host)
        return self._ds_cache[key]

    def _url(self, ds: Dict[str, Any], path: str) -> str:
        return folder_url(self.client.endpoint, ds["name"], path, ds["datacenter_path"])

    def _label(self, ds: Dict[str, Any], path: str) -> str:
        return ds_path(ds["name"], path)

    def _request(self, method: str, ds: Dict[str, Any], path: str, ok: Union[Tuple[int], Tuple[int, int, int]] = (200,),
                 **kwargs) -> Any:
        url = self._url(ds, path)
        where = self._label(ds, path)
        verify = self._verify()
        try:
            with warnings.catch_warnings():
                if verify is False:
                    warnings.simplefilter("ignore")   # the user chose validate_certs: false
                resp = self._http().request(method, url, verify=verify, timeout=self.timeout,
                                            allow_redirects=False, **kwargs)
        except _rexc.SSLError as exc:
            raise ConnectionFailedError("%s %s failed: %s (%s)" % (method, where, CERT_HINT, redact(exc)),
                                        host=self.client.endpoint, certificate_error=True)
        except (_rexc.ConnectionError, _rexc.Timeout) as exc:
            raise ConnectionFailedError("%s %s failed: %s" % (method, where, redact(exc, self.client.secrets)),
                                        host=self.client.endpoint)
        except _rexc.RequestException as exc:
            raise VSphereError("%s %s failed: %s" % (method, where, redact(exc, self.client.secrets)),
                               host=self.client.endpoint)
        if resp.status_code in ok:
            return resp
        status = resp.status_code
        resp.close()
        if status in (401, 403):
            raise AuthenticationError("%s %s refused (HTTP %s): the session is not allowed to access the datastore"
                                      % (method, where, status), host=self.client.endpoint, http_status=status)
        if status == 404:
            raise NotFoundError("%s not found (HTTP 404)" % where, host=self.client.endpoint, http_status=status)
        raise VSphereError("%s %s failed: HTTP %s" % (method, where, status), host=self.client.endpoint,
                           http_status=status)

    # ---- HTTP operations ---------------------------------------------------------------------------
    def upload(self, datastore: str, path: str, src: Any, host: Optional[Any] = None, make_parents: bool = True) -> Dict[str, Any]:
        """Upload ``src`` (local file path or binary file object with a known size) to ``[datastore] path``,
        streamed. Returns {path, size, sha256, url(without cookie)}."""
        ds = self.datastore(datastore, host)
        rel = clean_path(path)
        if not rel:
            raise InputError("upload needs a file path on the datastore")
        if make_parents and posixpath.dirname(rel):
            self.mkdir(datastore, posixpath.dirname(rel), host=host)
        own = isinstance(src, (str, bytes, os.PathLike))
        try:
            fobj = open(src, "rb") if own else src
        except OSError as exc:
            raise InputError("cannot read %s: %s" % (src, exc))
        try:
            try:
                size = os.fstat(fobj.fileno()).st_size - fobj.tell()
            except (AttributeError, OSError, ValueError):
                pos = fobj.tell()
                fobj.seek(0, os.SEEK_END)
                size = fobj.tell() - pos
                fobj.seek(pos)
            digest = hashlib.sha256()

            class _Reader(object):
                """File-like wrapper that hashes while requests streams it (keeps Content-Length)."""

                def __init__(self, f):
                    self.f = f

                def read(self, n: int = -1) -> bytes:
                    data = self.f.read(n)
                    if data:
                        digest.update(data)
                    return data

                def __len__(self) -> int:
                    return size

            self._request("PUT", ds, rel, ok=(200, 201, 204), data=_Reader(fobj),
                          headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)})
        finally:
            if own:
                fobj.close()
        return {"path": ds_path(ds["name"], rel), "size": size, "sha256": digest.hexdigest(),
                "url": self._url(ds, rel)}

    def download(self, datastore: str, path: str, dest: str, host: Optional[Any] = None) -> Dict[str, Any]:
        """Download ``[datastore] path`` to the local file ``dest`` (atomically). Returns {path, size, sha256}."""
        ds = self.datastore(datastore, host)
        rel = clean_path(path)
        resp = self._request("GET", ds, rel, stream=True)
        digest = hashlib.sha256()
        size = 0
        dest_dir = os.path.dirname(os.path.abspath(dest)) or "."
        fd, tmp = tempfile.mkstemp(prefix=".fleetpatch-", dir=dest_dir)
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in resp.iter_content(self.chunk_size):
                    if chunk:
                        out.write(chunk)
                        digest.update(chunk)
                        size += len(chunk)
            os.replace(tmp, dest)
        except (OSError, _rexc.RequestException) as exc:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            if isinstance(exc, _rexc.RequestException):
                raise ConnectionFailedError("download of %s interrupted: %s" % (self._label(ds, rel), exc),
                                            host=self.client.endpoint)
            raise VSphereError("cannot write %s: %s" % (dest, exc), host=self.client.endpoint)
        finally:
            resp.close()
        return {"path": ds_path(ds["name"], rel), "size": size, "sha256": digest.hexdigest()}

    def read(self, datastore: str, path: str, host: Optional[Any] = None, max_bytes: int = 64 * 1024 * 1024) -> bytes:
        """Small files: the content of ``[datastore] path`` as bytes."""
        ds = self.datastore(datastore, host)
        resp = self._request("GET", ds, path, stream=True)
        try:
            data = b""
            for chunk in resp.iter_content(self.chunk_size):
                data += chunk
                if len(data) > max_bytes:
                    raise VSphereError("%s is larger than %d bytes" % (self._label(ds, path), max_bytes),
                                       host=self.client.endpoint)
            return data
        finally:
            resp.close()

    def stat(self, datastore: str, path: str, host: Optional[Any] = None) -> Optional[Dict[str, Any]]:
        """{path, size, modified} of a file, or None when it does not exist (HTTP HEAD)."""
        ds = self.datastore(datastore, host)
        try:
            resp = self._request("HEAD", ds, path)
        except NotFoundError:
            return None
        size = resp.headers.get("Content-Length")
        resp.close()
        return {"path": ds_path(ds["name"], path), "size": int(size) if size and size.isdigit() else None,
                "modified": resp.headers.get("Last-Modified")}

    def exists(self, datastore: str, path: str, host: Optional[Any] = None) -> bool:
        return self.stat(datastore, path, host=host) is not None

    # ---- SOAP operations (FileManager, datastore browser) ------------------------------------------
    def _datacenter_mo(self, ds: Dict[str, Any]) -> Any:
        return self.client._mo(vim.Datacenter, ds["datacenter_moid"]) if ds.get("datacenter_moid") else None

    def mkdir(self, datastore: str, path: str, host: Optional[Any] = None) -> bool:
        """Create ``[datastore] path`` with its parents; True if created, False if it existed."""
        ds = self.datastore(datastore, host)
        fm = self.client._content.fileManager
        try:
            fm.MakeDirectory(name=ds_path(ds["name"], path), datacenter=self._datacenter_mo(ds),
                             createParentDirectories=True)
            return True
        except vim.fault.FileAlreadyExists:
            return False
        except Exception as exc:
            raise translate(exc, host=self.client.endpoint, action="create folder %s" % ds_path(ds["name"], path),
                            secrets=self.client.secrets)

    def delete(self, datastore: str, path: str, host: Optional[Any] = None, timeout: int = 300) -> bool:
        """Delete a file or folder; True if deleted, False if it did not exist."""
        ds = self.datastore(datastore, host)
        fm = self.client._content.fileManager
        name = ds_path(ds["name"], path)
        try:
            task = fm.DeleteDatastoreFile_Task(name=name, datacenter=self._datacenter_mo(ds))
        except vim.fault.FileNotFound:
            return False
        except Exception as exc:
            raise translate(exc, host=self.client.endpoint, action="delete %s" % name, secrets=self.client.secrets)
        try:
            wait_for_task(task, timeout=timeout, host=self.client.endpoint, action="delete %s" % name,
                          secrets=self.client.secrets, collector=self.client._content.propertyCollector)
        except FleetpatchError as exc:
            if exc.details.get("fault_type") == "FileNotFound":
                return False
            raise
        return True

    def listdir(self, datastore: str, folder: str = "", host: Optional[Any] = None, timeout: int = 300) -> List[Dict[str, Any]]:
        """Entries of ``[datastore] folder``: [{name, path, size, modified, folder}] sorted by name.
        NotFoundError when the folder does not exist."""
        ds = self.datastore(datastore, host)
        ds_mo = self.client._mo(vim.Datastore, ds["moid"])
        name = ds_path(ds["name"], folder)
        try:
            browser = ds_mo.browser
            spec = vim.host.DatastoreBrowser.SearchSpec(
                details=vim.host.DatastoreBrowser.FileInfo.Details(fileSize=True, modification=True, fileType=True),
                matchPattern=["*"])
            task = browser.SearchDatastore_Task(datastorePath=name, searchSpec=spec)
        except Exception as exc:
            raise translate(exc, host=self.client.endpoint, action="list %s" % name, secrets=self.client.secrets)
        try:
            res = wait_for_task(task, timeout=timeout, host=self.client.endpoint, action="list %s" % name,
                                secrets=self.client.secrets, collector=self.client._content.propertyCollector)
        except FleetpatchError as exc:
            if exc.details.get("fault_type") in ("FileNotFound", "NotFound"):
                raise NotFoundError("%s not found" % name, host=self.client.endpoint, missing=[name])
            raise
        base = clean_path(folder)
        out = []
        for f in getattr(res, "file", None) or ():
            is_folder = isinstance(f, vim.host.DatastoreBrowser.FolderInfo)
            mod = getattr(f, "modification", None)
            out.append({"name": f.path, "path": ds_path(ds["name"], posixpath.join(base, f.path)),
                        "size": getattr(f, "fileSize", None), "modified": mod.isoformat() if mod else None,
                        "folder": bool(is_folder)})
        return sorted(out, key=lambda e: e["name"])
