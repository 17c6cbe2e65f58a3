"""Progress as a user sees it: on a terminal an updating bar per long phase (what it does,
round i of n, the time left), cleared when the phase ends; in a log one line per phase and no
bar noise; Ctrl-C while a bar is drawn still exits 130 and leaves nothing behind.

The terminal is a pseudo-terminal (os.openpty) that the real command line writes to.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

from cli_support import (
    NO_WRITES,
    QUERIES,
    REPO,
    clean_env,
    postgres_under,
    private_tmpdir,
    still_running,
)

# Small, but long enough in the read phases for the bar to be redrawn (twice a second).
ARGS = ["--scale", "0.01", "--rounds", "6", "--aa-rounds", "6", "--warmup", "0", *NO_WRITES]
ETA = re.compile(r"~\d\d:\d\d left")
ESC = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _queries(folder: Path) -> Path:
    """The six shapes plus one that sleeps, so each read phase lasts a few seconds."""
    folder.mkdir()
    for f in QUERIES.glob("*.sql"):
        (folder / f.name).write_text(f.read_text())
    (folder / "slow.sql").write_text("-- report_row: a slow query\nSELECT pg_sleep(0.2)\n")
    return folder


def _on_terminal(args: list[str], tmp: Path, interrupt_at: str | None = None,
                 timeout: float = 300) -> tuple[int, str]:
    """Run the command line with stdin, stdout and stderr on a pseudo-terminal of 120 columns;
    with `interrupt_at`, Ctrl-C (SIGINT to its process group) once that text has appeared."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "bench", "run", *args], cwd=REPO,
                            env=clean_env(TMPDIR=str(tmp), TERM="xterm"), stdin=slave,
                            stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    out = b""
    deadline = time.monotonic() + timeout
    sent = False
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1.0)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: every writer has closed the terminal
                    break
                if not chunk:
                    break
                out += chunk
            if interrupt_at and not sent and interrupt_at.encode() in out:
                time.sleep(0.3)  # well inside the phase, a bar on the screen
                os.killpg(proc.pid, signal.SIGINT)
                sent = True
        returncode = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return returncode, out.decode(errors="replace")


def test_bars_on_a_terminal_one_line_per_phase_in_a_log(tmp_path: Path) -> None:
    queries = _queries(tmp_path / "queries")
    with private_tmpdir() as tmp:
        code, screen = _on_terminal([*ARGS, "--queries", str(queries), "--out",
                                     str(tmp_path / "tty")], tmp)
    assert code == 0, screen
    assert "Traceback" not in screen
    frames = [ESC.sub("", f) for f in screen.replace("\r\n", "\n").split("\r")]
    bars = [f for f in frames if "round" in f and ETA.search(f)]
    assert bars, f"no bar with a round and the time left:\n{screen!r}"
    assert any(f.startswith("reads:") and "slow, round" in f for f in bars), bars
    # Each phase still has its two lines, and each bar is cleared before the phase's end line.
    text = screen.replace("\r\n", "\n")
    for phase in ("noise floor (A/A): reads", "measure before and after"):
        assert f"{phase} ..." in text
        [line] = [ln for ln in text.split("\n") if f"{phase}: done in" in ln]
        drawn = [ESC.sub("", part) for part in line.split("\r")]
        assert drawn[-1].startswith(f"{phase}: done in"), line
        assert len(drawn) > 1 and drawn[-2].strip() == "", f"the bar was not cleared: {line!r}"

    # The same command in a log (stderr a pipe): one line per phase, no bar, no carriage return.
    with private_tmpdir() as tmp:
        proc = subprocess.run([sys.executable, "-m", "bench", "run", *ARGS, "--queries",
                               str(queries), "--out", str(tmp_path / "log")], cwd=REPO,
                              env=clean_env(TMPDIR=str(tmp)), capture_output=True, text=True,
                              timeout=300, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    assert "\r" not in proc.stderr and "\r" not in proc.stdout
    assert "round" not in proc.stderr and not ETA.search(proc.stderr)
    lines = proc.stderr.splitlines()
    for phase in ("seed", "noise floor (A/A): reads", "measure before and after"):
        assert lines.count(f"{phase} ...") == 1, proc.stderr
        assert sum(ln.startswith(f"{phase}: done in") for ln in lines) == 1, proc.stderr


def test_no_progress_on_a_terminal_draws_no_bar(tmp_path: Path) -> None:
    with private_tmpdir() as tmp:
        code, screen = _on_terminal([*ARGS, "--rounds", "3", "--aa-rounds", "3",
                                     "--no-progress", "--out", str(tmp_path / "out")], tmp)
    assert code == 0, screen
    assert "\r" not in screen.replace("\r\n", "\n")
    assert not ETA.search(screen)


def test_ctrl_c_while_a_bar_is_drawn(tmp_path: Path) -> None:
    queries = _queries(tmp_path / "queries")
    with private_tmpdir() as tmp:
        code, screen = _on_terminal([*ARGS, "--queries", str(queries), "--out",
                                     str(tmp_path / "out")], tmp,
                                    interrupt_at="\rreads:")  # the A/A reads' bar
        assert code == 130, screen
        assert "Traceback" not in screen
        assert "(A/A): reads: done" not in screen, "the signal came after the phase"
        last = [ESC.sub("", ln).split("\r")[-1] for ln in screen.replace("\r\n", "\n").split("\n")
                if ln.strip()]
        assert last and last[-1].startswith("interrupted: scratch database dropped"), screen
        assert postgres_under(tmp) == []
        assert still_running(postgres_under(tmp)) == []
        assert not list(tmp.glob("pgindexbench-*")), "the data directory was left behind"
