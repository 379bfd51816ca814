"""Start/stop the ESXi/vCenter simulator (.bin/esxisim, Go source in sim/) from Python tests.

Contract used by other test suites::

    with Simulator(mode="esx") as sim:          # or Simulator(mode="vc", topology={...})
        si = SmartConnect(host=sim.host, port=sim.port, user=sim.user, pwd=sim.password,
                          sslContext=ssl.create_default_context(cafile=sim.ca_file))
        sim.fault("esxi-01.sim.local", "depot_unreachable")
        sim.state("esxi-01.sim.local")["build"]

The simulator listens on 127.0.0.1 with a TLS certificate issued by a throw-away CA generated here
(``ca_file``), enforces ``user``/``password`` (wrong ones give vim.fault.InvalidLogin) and exposes a
control API (``/_sim/...``, basic auth) used by ``fault``/``clear_faults``/``state``.
"""

import base64
import datetime
import json
import os
import shutil
import signal
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.path.join(REPO_ROOT, ".bin", "esxisim")
SIM_SRC = os.path.join(REPO_ROOT, "sim")
GO_ENV = {
    "GOPATH": "/usr/share/gocode",
    "GO111MODULE": "off",
    "GOPROXY": "off",
    "GOFLAGS": "",
    "GOCACHE": os.path.join(REPO_ROOT, ".cache", "go"),
}

DEFAULT_ESX_TOPOLOGY = {"hosts": [{"name": "esxi-01.sim.local", "image": "esxi-8.0u2.json"}]}
DEFAULT_VC_TOPOLOGY = {
    "datacenters": [{
        "name": "DC1",
        "clusters": [{"name": "C1", "drs": True, "hosts": [
            {"name": "esxi-01.sim.local", "image": "esxi-8.0u2.json"},
            {"name": "esxi-02.sim.local", "image": "esxi-8.0u2.json"},
            {"name": "esxi-03.sim.local", "image": "esxi-8.0u2.json"},
        ]}],
        "hosts": [{"name": "esxi-10.sim.local", "image": "esxi-8.0u2.json"}],
    }]
}

_build_lock = threading.Lock()


class SimulatorError(RuntimeError):
    pass


def _sources_mtime():
    newest = 0.0
    for name in os.listdir(SIM_SRC):
        if name.endswith(".go"):
            newest = max(newest, os.path.getmtime(os.path.join(SIM_SRC, name)))
    return newest


def _up_to_date():
    return os.path.exists(BINARY) and os.path.getmtime(BINARY) >= _sources_mtime()


def build(force=False):
    """Build .bin/esxisim if missing or older than any sim/*.go (same command as `make sim`).
    Safe with several processes (pytest-xdist): a file lock serialises the builds."""
    import fcntl
    with _build_lock:
        if not force and _up_to_date():
            return BINARY
        os.makedirs(os.path.dirname(BINARY), exist_ok=True)
        os.makedirs(GO_ENV["GOCACHE"], exist_ok=True)
        with open(os.path.join(REPO_ROOT, ".cache", "esxisim-build.lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                if not force and _up_to_date():
                    return BINARY
                env = dict(os.environ)
                env.update(GO_ENV)
                proc = subprocess.run(["go", "build", "-o", ".bin/esxisim", "./sim"], cwd=REPO_ROOT, env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
                if proc.returncode != 0:
                    raise SimulatorError("go build of the simulator failed:\n" + proc.stdout)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        return BINARY


def generate_tls(directory, hostnames=("127.0.0.1", "localhost")):
    """Create ca.pem (CA certificate), server.pem and server-key.pem in directory. Returns paths."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "esxisim test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    sans = []
    for h in hostnames:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            sans.append(x509.DNSName(h))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostnames[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = {
        "ca": os.path.join(directory, "ca.pem"),
        "cert": os.path.join(directory, "server.pem"),
        "key": os.path.join(directory, "server-key.pem"),
    }
    with open(paths["ca"], "wb") as f:
        f.write(ca_cert.public_bytes(serialization.Encoding.PEM))
    with open(paths["cert"], "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(paths["key"], "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return paths


class Simulator(object):
    """A running esxisim process (ESX or vCenter mode)."""

    host = "127.0.0.1"

    def __init__(self, mode="esx", topology=None, user="root", password="Sim-Passw0rd!", reboot_down=2.0,
                 task_delay=0.0, download_timeout=10.0, enforce_firewall=True, verbose=False, listen_host="127.0.0.1"):
        if mode not in ("esx", "vc"):
            raise ValueError("mode must be 'esx' or 'vc'")
        self.mode = mode
        self.host = listen_host      # "127.0.0.1", or "::1" to test IPv6 host names
        self.topology = topology
        self.user = user
        self.password = password
        self.reboot_down = float(reboot_down)
        self.task_delay = float(task_delay)
        self.download_timeout = float(download_timeout)
        self.enforce_firewall = enforce_firewall
        self.verbose = verbose
        self.port = None
        self.ca_file = None
        self.url = None
        self.ready_info = None
        self.proc = None
        self._tmp = None
        self._stderr_path = None

    # ------------------------------------------------------------------ lifecycle
    def start(self, timeout=30.0):
        if self.proc is not None:
            return self
        binary = os.environ.get("ESXISIM_BINARY") or build()
        self._tmp = tempfile.mkdtemp(prefix="esxisim-")
        tls = generate_tls(self._tmp, hostnames=(self.host, "127.0.0.1", "::1", "localhost"))
        self.ca_file = tls["ca"]
        topo = self.topology
        if topo is None:
            topo = DEFAULT_ESX_TOPOLOGY if self.mode == "esx" else DEFAULT_VC_TOPOLOGY
        if isinstance(topo, dict):
            topo_path = os.path.join(self._tmp, "topology.json")
            with open(topo_path, "w") as f:
                json.dump(topo, f)
        else:
            topo_path = os.path.abspath(str(topo))
        cmd = [binary, "-mode", self.mode, "-l", "%s:0" % self._netloc_host(), "-topology", topo_path,
               "-cert", tls["cert"], "-key", tls["key"], "-user", self.user, "-password", self.password,
               "-reboot-down", "%dms" % int(self.reboot_down * 1000),
               "-task-delay", "%dms" % int(self.task_delay * 1000),
               "-download-timeout", "%dms" % int(self.download_timeout * 1000),
               "-enforce-firewall=%s" % ("true" if self.enforce_firewall else "false"),
               "-root", REPO_ROOT]
        if self.verbose:
            cmd.append("-v")
        self._stderr_path = os.path.join(self._tmp, "stderr.log")
        stderr = open(self._stderr_path, "wb")
        self.proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=stderr,
                                     universal_newlines=True)
        stderr.close()
        deadline = time.time() + timeout
        line = self._read_ready(deadline)
        self.ready_info = json.loads(line.split(" ", 1)[1])
        self.port = int(self.ready_info["port"])
        self.url = "https://%s:%d/sdk" % (self._netloc_host(), self.port)
        threading.Thread(target=self._drain, daemon=True).start()
        self._wait_soap(deadline)
        return self

    def _read_ready(self, deadline):
        result = {}

        def reader():
            for line in self.proc.stdout:
                if line.startswith("ESXISIM_READY "):
                    result["line"] = line.strip()
                    return

        t = threading.Thread(target=reader, daemon=True)
        t.start()
        t.join(max(0.1, deadline - time.time()))
        if "line" not in result:
            err = self._stderr()
            self.stop()
            raise SimulatorError("simulator did not start:\n" + err)
        return result["line"]

    def _drain(self):
        try:
            for _ in self.proc.stdout:
                pass
        except Exception:
            pass

    def _stderr(self):
        try:
            with open(self._stderr_path) as f:
                return f.read()[-4000:]
        except Exception:
            return ""

    def _netloc_host(self):
        return "[%s]" % self.host if ":" in self.host else self.host

    def ssl_context(self):
        return ssl.create_default_context(cafile=self.ca_file)

    def _wait_soap(self, deadline):
        """Wait until /sdk answers a RetrieveServiceContent call (no login needed)."""
        body = ('<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv='
                '"http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
                '<soapenv:Body><RetrieveServiceContent xmlns="urn:vim25"><_this type="ServiceInstance">'
                'ServiceInstance</_this></RetrieveServiceContent></soapenv:Body></soapenv:Envelope>').encode()
        last = None
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise SimulatorError("simulator exited (%s):\n%s" % (self.proc.returncode, self._stderr()))
            try:
                req = urllib.request.Request(self.url, data=body, headers={
                    "Content-Type": "text/xml", "SOAPAction": "urn:vim25/6.5"})
                with urllib.request.urlopen(req, context=self.ssl_context(), timeout=2) as r:
                    if r.status == 200:
                        return
            except Exception as e:  # noqa: BLE001 - retry until the deadline
                last = e
            time.sleep(0.05)
        self.stop()
        raise SimulatorError("simulator SOAP endpoint did not answer: %r" % (last,))

    def stop(self):
        proc, self.proc = self.proc, None
        if proc is not None:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
            if proc.stdout:
                try:
                    proc.stdout.close()
                except Exception:
                    pass
        if self._tmp:
            log_dir = os.environ.get("ESXISIM_LOG_DIR")
            if log_dir and self._stderr_path and os.path.exists(self._stderr_path):
                os.makedirs(log_dir, exist_ok=True)
                shutil.copyfile(self._stderr_path, os.path.join(log_dir, "esxisim-%s.log" % os.path.basename(self._tmp)))
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    # ------------------------------------------------------------------ control API
    def _control(self, method, path, payload=None):
        if self.proc is None:
            raise SimulatorError("simulator is not running")
        data = json.dumps(payload).encode() if payload is not None else None
        req = urllib.request.Request("https://%s:%d%s" % (self._netloc_host(), self.port, path), data=data,
                                     method=method)
        token = base64.b64encode(("%s:%s" % (self.user, self.password)).encode()).decode()
        req.add_header("Authorization", "Basic " + token)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, context=self.ssl_context(), timeout=10) as r:
                return json.loads(r.read().decode() or "null")
        except urllib.error.HTTPError as e:
            raise SimulatorError("control API %s %s: %s %s" % (method, path, e.code, e.read().decode(errors="replace")))

    def fault(self, host_name, fault, **params):
        """Arm a fault switch on a host ("*" = every host): depot_unreachable, task_error (type=, text=,
        method=, count=), disconnect_during_install (seconds=), reboot_never_returns, slow_tasks (seconds=)."""
        return self._control("POST", "/_sim/fault", {"host": host_name, "fault": fault, "params": params})

    def clear_faults(self, host_name=None):
        return self._control("POST", "/_sim/clear", {"host": host_name or ""})

    def power_on(self, host_name):
        """Bring a host back after ShutdownHost_Task."""
        return self._control("POST", "/_sim/power_on", {"host": host_name})

    def state(self, host_name):
        """Simulator-side truth for a host: version, build, current_vibs, pending_vibs, acceptance,
        maintenance, gueststore_url, staged_vibs, connection_state, boot_time, vms, faults, ..."""
        from urllib.parse import quote
        return self._control("GET", "/_sim/state?host=" + quote(host_name))

    def hosts(self):
        return self._control("GET", "/_sim/state")["hosts"]
