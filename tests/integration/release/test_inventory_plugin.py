# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inventory plugin fleetpatch.esxi.esxi_hosts against the vCenter simulator: ansible-inventory sees every host
with its facts and groups (cluster, datacenter, version, build, image-managed), compose/groups/keyed_groups and
filters work, the cache holds no secret, a wrong password fails the inventory clearly; a playbook runs on the
plugin's groups with no extra variable; concurrent --limit slices of one inventory do not interfere."""

from __future__ import annotations

import concurrent.futures
import json
import os
import subprocess

import pytest

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))

from tests.tooling import BIN_DIR as BIN, needs_tool  # noqa: E402

pytestmark = [pytest.mark.simulator, needs_tool("ansible-inventory")]
TOPOLOGY = {"datacenters": [{"name": "DC1", "clusters": [
    {"name": "IMG", "vlcm": {}, "hosts": [{"name": "esxi-21.sim.local", "image": "esxi-8.0u2.json"},
                                          {"name": "esxi-22.sim.local", "image": "esxi-8.0u2.json",
                                           "maintenance": True}]},
    {"name": "C-7", "hosts": [{"name": "esxi-31.sim.local", "image": "esxi-7.0u3.json"}]}],
    "hosts": [{"name": "esxi-10.sim.local", "image": "esxi-8.0u2.json"}]}]}


@pytest.fixture(scope="module")
def sim(sim_factory):
    return sim_factory("vc", topology=TOPOLOGY)


def _env(sim, tmp_path, **extra):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_HOME=str(tmp_path / "ah"),
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "t"), ANSIBLE_REMOTE_TEMP=str(tmp_path / "r"), ANSIBLE_NOCOLOR="1",
               VMWARE_USER=sim.user, VMWARE_PASSWORD=sim.password)
    env.update(extra)
    return env


def _inventory(sim, tmp_path, name="esxi_hosts.yml", **options):
    cfg = {"plugin": "fleetpatch.esxi.esxi_hosts", "hostname": sim.host, "port": sim.port, "ca_path": sim.ca_file}
    cfg.update(options)
    path = tmp_path / name
    path.write_text(json.dumps(cfg))
    return path


def _lifecycle_managed(sim):
    """ClusterComputeResource.lifecycleManaged of each cluster, read directly with pyVmomi's property collector."""
    from pyVmomi import vim
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._clients.vsphere.client import VSphereClient
    with VSphereClient(sim.host, sim.user, sim.password, port=sim.port, ca_path=sim.ca_file, timeout=10) as c:
        nodes = c._load_inventory()["nodes"]
        out = {}
        for n in nodes.values():
            if n["kind"] == "ClusterComputeResource":
                rows = c._retrieve([(vim.ClusterComputeResource, ["lifecycleManaged"])], objects=[n["obj"]])
                value = rows[0][1].get("lifecycleManaged") if rows else None
                out[n["name"]] = None if value is None else bool(value)
    return out


def plain(obj):
    """ansible-inventory 2.19 marks values from inventory plugins as unsafe ({"__ansible_unsafe": value})."""
    if isinstance(obj, dict):
        if set(obj) == {"__ansible_unsafe"}:
            return obj["__ansible_unsafe"]
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [plain(v) for v in obj]
    return obj


def _list(sim, tmp_path, inv, **env):
    proc = subprocess.run([os.path.join(BIN, "ansible-inventory"), "-i", str(inv), "--list"], cwd=str(tmp_path),
                          env=_env(sim, tmp_path, **env), capture_output=True, text=True, timeout=120)
    return proc


def test_every_host_with_its_facts_and_groups(sim, tmp_path):
    proc = _list(sim, tmp_path, _inventory(sim, tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    inv = plain(json.loads(proc.stdout))
    hv = inv["_meta"]["hostvars"]
    assert sorted(hv) == ["esxi-10.sim.local", "esxi-21.sim.local", "esxi-22.sim.local", "esxi-31.sim.local"]
    assert sorted(inv["esxi_hosts"]["hosts"]) == sorted(hv)
    h = hv["esxi-21.sim.local"]
    assert (h["ansible_host"], h["esxi_cluster"], h["esxi_datacenter"]) == ("esxi-21.sim.local", "IMG", "DC1")
    assert h["esxi_version"].startswith("8.0.2") and h["esxi_build"] == "22380479"
    assert h["esxi_connection_state"] == "connected" and h["esxi_in_maintenance_mode"] is False
    assert hv["esxi-22.sim.local"]["esxi_in_maintenance_mode"] is True
    # image-managed: what vCenter's ComputeResource.lifecycleManaged says, per cluster (None: cannot be told)
    expected = _lifecycle_managed(sim)
    assert h["esxi_image_managed"] == expected["IMG"] and expected["IMG"] in (True, None)
    assert hv["esxi-31.sim.local"]["esxi_image_managed"] in (False, None)
    assert hv["esxi-10.sim.local"]["esxi_image_managed"] is False       # in no cluster
    assert hv["esxi-10.sim.local"]["esxi_cluster"] is None
    assert hv["esxi-31.sim.local"]["esxi_version"].startswith("7.0.3")
    assert sorted(inv["cluster_IMG"]["hosts"]) == ["esxi-21.sim.local", "esxi-22.sim.local"]
    assert inv["cluster_C_7"]["hosts"] == ["esxi-31.sim.local"]
    assert sorted(inv["datacenter_DC1"]["hosts"]) == sorted(hv)
    assert "esxi-31.sim.local" in inv["build_%s" % hv["esxi-31.sim.local"]["esxi_build"]]["hosts"]
    assert "version_8_0_2" in inv
    # the connection variables of the playbooks, never the password
    assert h["vmware_hostname"] == sim.host and h["vmware_port"] == sim.port and h["vmware_username"] == sim.user
    assert sim.password not in proc.stdout


def test_compose_groups_keyed_groups_filters_and_cache(sim, tmp_path):
    cache = tmp_path / "cache"
    inv = _inventory(sim, tmp_path, compose={"esxi_major": "esxi_version.split('.')[0]"},
                     groups={"in_maintenance": "esxi_in_maintenance_mode"},
                     keyed_groups=[{"key": "esxi_major", "prefix": "major"}],
                     filters=["esxi_datacenter == 'DC1'", "esxi_name != 'esxi-10.sim.local'"],
                     cache=True, cache_plugin="ansible.builtin.jsonfile", cache_connection=str(cache),
                     cache_timeout=3600)
    proc = _list(sim, tmp_path, inv)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = plain(json.loads(proc.stdout))
    assert sorted(out["_meta"]["hostvars"]) == ["esxi-21.sim.local", "esxi-22.sim.local", "esxi-31.sim.local"]
    assert out["in_maintenance"]["hosts"] == ["esxi-22.sim.local"]
    assert out["major_7"]["hosts"] == ["esxi-31.sim.local"]
    files = list(cache.iterdir())
    assert files and all(sim.password not in f.read_text() for f in files)
    # second run from the cache: works with a wrong password, because nothing is read from vCenter
    proc = _list(sim, tmp_path, inv, VMWARE_PASSWORD="wrong")
    assert proc.returncode == 0 and plain(json.loads(proc.stdout))["major_7"]["hosts"] == ["esxi-31.sim.local"]


def test_wrong_password_fails_the_inventory_clearly(sim, tmp_path):
    proc = subprocess.run([os.path.join(BIN, "ansible-inventory"), "-i", str(_inventory(sim, tmp_path)), "--list"],
                          cwd=str(tmp_path), env=_env(sim, tmp_path, VMWARE_PASSWORD="Wr0ng-Secret",
                                                      ANSIBLE_INVENTORY_UNPARSED_FAILED="1"),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "esxi_hosts" in proc.stderr and "Wr0ng-Secret" not in proc.stdout + proc.stderr


PLAY = """
- name: Runs on the plugin's groups with no extra variable
  hosts: "{{ target }}"
  gather_facts: false
  tasks:
    - name: Read the host's tags through vCenter with the connection the inventory gives
      fleetpatch.esxi.esxi_host_tag:
        hostname: "{{ vmware_hostname }}"
        port: "{{ vmware_port }}"
        username: "{{ vmware_username }}"
        ca_path: "{{ vmware_ca_path }}"
        esxi_hostname: ["{{ esxi_name }}"]
        category: "{{ run }}-{{ inventory_hostname }}"
        tag: "cluster-{{ esxi_cluster | default('none', true) }}"
        state: present
      delegate_to: localhost
      register: tag
    - name: Record what this slice did
      ansible.builtin.copy:
        content: "{{ {'host': inventory_hostname, 'changed': tag.changed, 'hosts': tag.hosts | map(attribute='name') | list} | to_json }}"
        dest: "{{ out_dir }}/{{ inventory_hostname }}.json"
        mode: "0600"
      delegate_to: localhost
"""


def test_playbook_on_plugin_groups_and_concurrent_slices(sim, tmp_path):
    inv = _inventory(sim, tmp_path)
    pb = tmp_path / "pb.yml"
    pb.write_text(PLAY)
    out = tmp_path / "out"
    out.mkdir()
    py = os.path.join(BIN, "python")

    def run(limit, target="esxi_hosts", run="slices"):
        cmd = [os.path.join(BIN, "ansible-playbook"), "-i", str(inv), str(pb), "--limit", limit, "-e",
               json.dumps({"target": target, "out_dir": str(out), "ansible_python_interpreter": py, "run": run})]
        return subprocess.run(cmd, cwd=str(tmp_path), env=_env(sim, tmp_path), capture_output=True, text=True,
                              timeout=300)

    # one cluster group of the plugin
    proc = run("all", target="cluster_IMG", run="cluster")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert sorted(p.name for p in out.iterdir()) == ["esxi-21.sim.local.json", "esxi-22.sim.local.json"]
    for p in out.iterdir():
        p.unlink()
    # AWX job slicing: disjoint slices of one inventory, run at the same time
    slices = ["esxi-10.sim.local:esxi-21.sim.local", "esxi-22.sim.local:esxi-31.sim.local"]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        results = list(pool.map(run, slices))
    for r in results:
        assert r.returncode == 0, r.stdout[-3000:]
    got = {p.name[:-5]: json.loads(p.read_text()) for p in out.iterdir()}
    assert sorted(got) == ["esxi-10.sim.local", "esxi-21.sim.local", "esxi-22.sim.local", "esxi-31.sim.local"]
    assert all(v["changed"] is True and v["hosts"] == [k] for k, v in got.items())
