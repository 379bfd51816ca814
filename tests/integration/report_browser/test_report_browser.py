# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The HTML compliance report as a person sees it: written by the compliance_report module (run by
ansible-playbook), opened in a real headless Chromium (Debian package ``chromium``), checked through the DOM
Chromium built (``--dump-dom``) and through the pixels of a screenshot (the red and green status colours)."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
import zlib
from html.parser import HTMLParser

import pytest

from tests.tooling import needs_tool, tool_path

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))

import tests.unit.report.report_data as rd  # noqa: E402

PLAYBOOK = tool_path("ansible-playbook")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
         "--force-color-profile=srgb", "--force-prefers-reduced-motion"]

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium (Debian package chromium)"),
    needs_tool("ansible-playbook"),
]

# the palette of the report's light scheme (plugins/module_utils/_report/report.py)
BAD_RED = (0xB4, 0x23, 0x18)
OK_GREEN = (0x1E, 0x7D, 0x45)


def _env(tmp):
    env = dict(os.environ)
    env.update(ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_HOME=str(tmp / "home"),
               ANSIBLE_LOCAL_TEMP=str(tmp / "tmp"), ANSIBLE_REMOTE_TEMP=str(tmp / "rtmp"), ANSIBLE_NOCOLOR="1")
    return env


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """Run compliance_report through ansible-playbook on the real-classifier fleet plus one failed scan."""
    tmp = tmp_path_factory.mktemp("report_browser")
    fleet = rd.fleet()
    failed = {"failed": True, "changed": False, "msg": "host esxi-13.sim.local: not connected",
              "host": "esxi-13.sim.local"}
    (tmp / "scan.json").write_text(json.dumps([fleet, failed]))
    play = [{"name": "report", "hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "Write the report", "fleetpatch.esxi.compliance_report": {
            "results": "{{ lookup('ansible.builtin.file', '%s') | from_json }}" % (tmp / "scan.json"),
            "dest": str(tmp / "out"), "title": "Fleet <patch> compliance",
            "minimum_build": {"8.0": 22380479, "7.0": 21930508},
            "required_bulletins": [rd.FLING_U2, rd.FLING_703],
            "clusters": {"esxi-13.sim.local": {"cluster": "Legacy", "datacenter": "DC1"}}},
         "register": "r"},
        {"name": "Save the result", "ansible.builtin.copy": {"content": "{{ r | to_json }}",
                                                             "dest": str(tmp / "result.json"), "mode": "0600"}},
    ]}]
    (tmp / "play.yml").write_text(json.dumps(play))
    proc = subprocess.run([PLAYBOOK, str(tmp / "play.yml"), "-e", "ansible_python_interpreter=%s" % sys.executable],
                          cwd=ROOT, env=_env(tmp), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=180)
    assert proc.returncode == 0, proc.stdout.decode("utf-8", "replace")
    result = json.loads((tmp / "result.json").read_text())
    return tmp, result


def _chromium(tmp, *args):
    profile = tmp / "chromium-profile"
    profile.mkdir(exist_ok=True)
    proc = subprocess.run([CHROMIUM] + FLAGS + ["--user-data-dir=%s" % profile] + list(args),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")[-3000:]
    return proc.stdout.decode("utf-8", "replace")


class _Dom(HTMLParser):
    """Visible text, and the elements with data-* attributes, of the DOM Chromium dumped."""

    def __init__(self):
        super().__init__()
        self.stack = []
        self.text = []
        self.rows = {}
        self.sections = {}
        self.severity_chips = []
        self.tags = set()
        self._row = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.add(tag)
        if tag == "tr" and "data-host" in a:
            self._row = a["data-host"]
            self.rows[self._row] = {"status": a.get("data-status"), "text": []}
        if tag == "section" and "data-cluster" in a:
            self.sections[a["data-cluster"]] = a.get("data-status")
        if "data-severity" in a:
            self.severity_chips.append((self._row, a["data-severity"]))
        if tag not in ("br", "meta", "col", "link", "img", "input"):
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag == "tr":
            self._row = None
        while self.stack:
            if self.stack.pop() == tag:
                break

    def handle_data(self, data):
        if "style" in self.stack or "title" in self.stack or "head" in self.stack and "body" not in self.stack:
            return
        self.text.append(data)
        if self._row:
            self.rows[self._row]["text"].append(data)

    def visible(self):
        return " ".join(" ".join(self.text).split())

    def row_text(self, host):
        return " ".join(" ".join(self.rows[host]["text"]).split())


def _png_pixels(path):
    """(width, height, rows of RGB tuples) of an 8-bit RGB/RGBA non-interlaced PNG (what Chromium writes)."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, hdr = 8, [], None
    while pos < len(data):
        length, ctype = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if ctype == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif ctype == b"IDAT":
            idat.append(body)
        pos += 12 + length
    width, height, depth, color, _c, _f, interlace = hdr
    assert depth == 8 and color in (2, 6) and interlace == 0, hdr
    bpp = 4 if color == 6 else 3
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    rows, prev, i = [], bytearray(stride), 0
    for _y in range(height):
        ftype = raw[i]
        line = bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if ftype == 1:
                line[x] = (line[x] + a) & 0xFF
            elif ftype == 2:
                line[x] = (line[x] + b) & 0xFF
            elif ftype == 3:
                line[x] = (line[x] + (a + b) // 2) & 0xFF
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append([tuple(line[x:x + 3]) for x in range(0, stride, bpp)])
        prev = line
    return width, height, rows


def _count_near(rows, rgb, tol=6):
    return sum(1 for row in rows for px in row if all(abs(px[k] - rgb[k]) <= tol for k in range(3)))


def test_module_result(report):
    _tmp, r = report
    assert r["changed"] is True and r["written"] == ["json", "junit", "html"]
    s = r["summary"]
    assert (s["hosts"], s["compliant"], s["non_compliant"], s["error"]) == (7, 4, 2, 1)
    assert s["non_compliant_hosts"] == ["esxi-03.sim.local", "esxi-12.sim.local"]


def test_dom_shows_hosts_statuses_and_missing_bulletins(report):
    tmp, r = report
    html_path = r["paths"]["html"]
    dom = _chromium(tmp, "--dump-dom", "file://" + html_path)
    p = _Dom()
    p.feed(dom)
    assert "script" not in p.tags
    text = p.visible()
    assert "Fleet <patch> compliance" in text
    assert "2 hosts non-compliant and 1 host not scanned" in text
    assert "Hosts below the line" in text
    assert {h: v["status"] for h, v in p.rows.items()} == {
        "esxi-01.sim.local": "compliant", "esxi-02.sim.local": "compliant", "esxi-03.sim.local": "non_compliant",
        "esxi-11.sim.local": "compliant", "esxi-12.sim.local": "non_compliant", "esxi-13.sim.local": "error",
        "esxi-20.sim.local": "compliant"}
    assert p.sections == {"Legacy": "non_compliant", "Prod": "non_compliant", "Standalone hosts": "compliant"}
    row = p.row_text("esxi-03.sim.local")
    assert "Non-compliant" in row
    assert "required bulletin %s is missing" % rd.FLING_U2 in row
    n = len(next(h for h in rd.fleet()["hosts"] if h["name"] == "esxi-03.sim.local")["missing"])
    assert "%d general" % n in row and "%d missing bulletin" % n in row
    assert rd.FLING_U2 in row and "USB NIC Driver Fling" in row
    assert "Compliant" in p.row_text("esxi-01.sim.local") and "none missing" in p.row_text("esxi-01.sim.local")
    err = p.row_text("esxi-13.sim.local")
    assert "Scan failed" in err and "not connected" in err and "not scanned" in err
    assert ("esxi-03.sim.local", "general") in p.severity_chips
    assert (None, "general") in p.severity_chips   # the fleet summary line


def test_screenshot_shows_red_and_green(report):
    tmp, r = report
    shot = tmp / "report.png"
    _chromium(tmp, "--window-size=1280,1800", "--screenshot=%s" % shot, "file://" + r["paths"]["html"])
    width, height, rows = _png_pixels(str(shot))
    assert (width, height) == (1280, 1800)
    red = _count_near(rows, BAD_RED)
    green = _count_near(rows, OK_GREEN)
    assert red > 2000, red        # the verdict bar, the non-compliant counters, pills and row markers
    assert green > 2000, green    # the compliant share of the bar and the compliant row markers
    # the top of the page (verdict + cards + bar) is where the eye lands: red must already be there
    assert _count_near(rows[:420], BAD_RED) > 500
