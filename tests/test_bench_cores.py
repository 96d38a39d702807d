"""bench.common.usable_cores: the cores benchmark 12's estimate divides by, a cgroup's CPU
quota included, read from real files laid out as the kernel lays them out."""

from __future__ import annotations

import os
from pathlib import Path

from bench.common import usable_cores

AFFINITY = float(len(os.sched_getaffinity(0)))


def cgroup(tmp_path: Path, membership: str, files: dict[str, str]) -> tuple[Path, Path]:
    root = tmp_path / "cgroup"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    proc = tmp_path / "proc-self-cgroup"
    proc.write_text(membership)
    return root, proc


def test_a_v2_quota_below_the_affinity_is_the_cores(tmp_path: Path) -> None:
    root, proc = cgroup(tmp_path, "0::/box\n", {"box/cpu.max": "50000 100000\n"})
    assert usable_cores(root, proc) == min(AFFINITY, 0.5)


def test_a_v1_quota_is_read_from_the_cpu_controller(tmp_path: Path) -> None:
    root, proc = cgroup(
        tmp_path,
        "4:memory:/box\n1:cpu,cpuacct:/box\n0::/\n",
        {"cpu/box/cpu.cfs_quota_us": "25000\n", "cpu/box/cpu.cfs_period_us": "100000\n"},
    )
    assert usable_cores(root, proc) == min(AFFINITY, 0.25)


def test_no_quota_or_no_cgroup_files_leave_the_affinity(tmp_path: Path) -> None:
    root, proc = cgroup(tmp_path, "0::/box\n", {"box/cpu.max": "max 100000\n"})
    assert usable_cores(root, proc) == AFFINITY
    root, proc = cgroup(
        tmp_path / "v1",
        "1:cpu:/\n",
        {"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"},
    )
    assert usable_cores(root, proc) == AFFINITY
    assert usable_cores(tmp_path / "none", tmp_path / "missing") == AFFINITY


def test_a_quota_above_the_affinity_leaves_the_affinity(tmp_path: Path) -> None:
    root, proc = cgroup(tmp_path, "0::/\n", {"cpu.max": f"{int(AFFINITY + 4) * 100000} 100000"})
    assert usable_cores(root, proc) == AFFINITY


def test_in_a_container_the_mount_is_its_own_cgroup(tmp_path: Path) -> None:
    """/proc/self/cgroup names the host's path, but the container's mount holds its files."""
    root, proc = cgroup(
        tmp_path / "v1",
        "1:cpu,cpuacct:/docker/0123abcd\n",
        {"cpu/cpu.cfs_quota_us": "150000\n", "cpu/cpu.cfs_period_us": "100000\n"},
    )
    assert usable_cores(root, proc) == min(AFFINITY, 1.5)
    root, proc = cgroup(tmp_path / "v2", "0::/docker/0123abcd\n", {"cpu.max": "50000 100000"})
    assert usable_cores(root, proc) == min(AFFINITY, 0.5)


def test_lines_and_files_it_cannot_read_leave_the_affinity(tmp_path: Path) -> None:
    for n, (membership, text) in enumerate(
        [
            ("garbage\n\n0::/\n", "abc 100000"),
            ("0::/\n", "50000 0"),
            ("0::/\n", "0 100000"),
            ("0::/\n", "50000"),
        ]
    ):
        root, proc = cgroup(tmp_path / str(n), membership, {"cpu.max": text})
        assert usable_cores(root, proc) == AFFINITY, (membership, text)
