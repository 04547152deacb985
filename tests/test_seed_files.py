"""Seeds stay inside seeds/: no link out, no special files, no unbounded reads.

Each case is planted beside a real article, as a hostile contributor would.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import tracemalloc
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from digest import reading
from digest.cli import EXIT_BUILD, EXIT_OK, EXIT_PROBLEMS
from digest.load import _split_suffix, load
from digest.reading import Refused, open_folder, read_file

from .conftest import make_project, run

GOOD = {
    "a.txt": "ASELSAN opened a plant in Baku.\n\nSecond paragraph.\n",
    "a.yml": "title: Plant opens\ndate: 2026-11-23\nsource: Wire\nsummary: A plant opened.\n",
}
CANARY = "CANARY-7f3a9e-OUTSIDE-SEEDS"
LINK_OUT = ("seeds/{name}:1:1: file: it is a symbolic link to a path outside seeds/; "
            "links are followed only to files directly in seeds/")


def every_output_byte(root: Path) -> bytes:
    """Every file under the outputs, unzipped and gunzipped."""
    data = bytearray()
    for folder in ("site", "dist", "docs/digest"):
        for path in sorted((root / folder).rglob("*")):
            if not path.is_file():
                continue
            raw = path.read_bytes()
            data += raw
            if path.suffix == ".gz":
                data += gzip.decompress(raw)
            if path.suffix == ".zip":
                with zipfile.ZipFile(path) as zf:
                    for name in zf.namelist():
                        data += name.encode() + zf.read(name)
    return bytes(data)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project built once with a good article, before anything is planted."""
    root = make_project(tmp_path_factory.mktemp("seedfiles") / "p", GOOD)
    code, _, err = run("build", "--root", str(root))
    assert code == EXIT_OK, err
    return root


def test_link_to_an_outside_file_fails_naming_the_link_and_publishes_nothing(built: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text(f"{CANARY}\n\nprivate key material\n", encoding="utf-8")
    before = every_output_byte(built)
    link = built / "seeds/secret.txt"
    link.symlink_to(secret)
    try:
        code, out, err = run("build", "--root", str(built))
    finally:
        link.unlink()
    assert code == EXIT_PROBLEMS
    assert LINK_OUT.format(name="secret.txt") in err
    assert CANARY not in err + out  # the link is named, its target's content never shown
    after = every_output_byte(built)
    assert after == before  # the failed run changed no output
    assert CANARY.encode() not in after
    assert CANARY.lower().encode() not in after.lower()


def test_link_to_an_outside_folder_is_refused(project: Any, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "b.txt").write_text(CANARY, encoding="utf-8")
    root = project(GOOD)
    (root / "seeds/more").symlink_to(outside)
    code, _, err = run("check", "--root", str(root))
    assert code == EXIT_PROBLEMS
    assert LINK_OUT.format(name="more") in err
    assert CANARY not in err


def test_link_into_a_subfolder_is_refused(project: Any) -> None:
    root = project(GOOD)
    (root / "seeds/_hidden").mkdir()
    (root / "seeds/_hidden/b.txt").write_text("Hidden text.", encoding="utf-8")
    (root / "seeds/b.txt").symlink_to("_hidden/b.txt")
    code, _, err = run("check", "--root", str(root))
    assert code == EXIT_PROBLEMS
    assert LINK_OUT.format(name="b.txt") in err


def test_link_to_a_file_inside_seeds_is_followed(project: Any) -> None:
    root = project(GOOD)
    (root / "seeds/b.txt").symlink_to("a.txt")
    raw = load(root / "seeds")
    assert raw.problems == []
    assert raw.articles["b"].text == raw.articles["a"].text == GOOD["a.txt"].rstrip("\n") + "\n"


def test_dangling_link_is_an_error_not_a_crash(project: Any) -> None:
    root = project(GOOD)
    (root / "seeds/b.txt").symlink_to("missing.txt")
    for command in ("check", "generate"):
        code, _, err = run(command, "--root", str(root))
        assert code == EXIT_PROBLEMS
        assert "seeds/b.txt:1:1: file: it is a symbolic link that cannot be followed (No such file or directory)" in err


def test_fifo_fails_at_once_and_never_blocks(project: Any) -> None:
    root = project(GOOD)
    os.mkfifo(root / "seeds/pipe.txt")
    # In a child with a deadline: a blocking open would hang the child, not the suite.
    proc = subprocess.run([sys.executable, "-m", "digest", "check", "--root", str(root)],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == EXIT_PROBLEMS
    assert "seeds/pipe.txt:1:1: file: it is a named pipe (FIFO), not a regular file" in proc.stderr


def test_link_to_dev_zero_fails_in_small_memory(project: Any) -> None:
    root = project(GOOD)
    (root / "seeds/zero.txt").symlink_to("/dev/zero")
    tracemalloc.start()
    code, _, err = run("check", "--root", str(root))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert code == EXIT_PROBLEMS
    assert LINK_OUT.format(name="zero.txt") in err
    assert peak < 20 * 2**20


@pytest.mark.skipif(os.geteuid() != 0, reason="making a device node needs root (CI runs as root)")
def test_device_node_is_refused_without_being_opened(project: Any) -> None:
    root = project(GOOD)
    os.mknod(root / "seeds/zero.txt", 0o600 | 0o020000, os.makedev(1, 5))  # a character device: /dev/zero's numbers
    code, _, err = run("check", "--root", str(root))
    assert code == EXIT_PROBLEMS
    assert "seeds/zero.txt:1:1: file: it is a device, not a regular file" in err


def test_reads_stop_at_the_limit_whatever_stat_says() -> None:
    # /proc files are regular files whose stat says 0 bytes: the limit must
    # hold against what is read.
    maps = Path(f"/proc/{os.getpid()}/maps")
    assert os.stat(maps).st_size == 0
    assert len(read_file(maps, 1 << 24)) > 100
    with pytest.raises(Refused, match="the file holds more than 100 bytes, the limit"):
        read_file(maps, 100)


def test_a_file_over_the_limit_is_refused_before_it_is_read(project: Any) -> None:
    root = project({**GOOD, "a.txt": "x" * 5000})
    code, _, err = run("check", "--root", str(root), "--max-article-mb", str(4000 / 2**20))
    assert code == EXIT_PROBLEMS
    assert "seeds/a.txt:1:1: file: the file is 5,000 bytes; the limit is 4,000 bytes" in err


def test_read_file_refuses_a_fifo_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(Refused, match=r"it is a named pipe \(FIFO\), not a regular file"):
        read_file(tmp_path / "pipe", 100)


def _swap_before_open(monkeypatch: pytest.MonkeyPatch, folder: Path, name: str, replace: Any) -> None:
    """Run ``replace`` just before the reader opens ``name``: the moment
    between its check and its read, when a hostile swap would happen."""
    real_open = os.open

    def racing_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if path == name:
            replace(folder / name)
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(reading.os, "open", racing_open)


def test_file_swapped_for_a_link_between_check_and_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "a.txt").write_text("harmless", encoding="utf-8")
    secret = tmp_path / "secret"
    secret.write_text(CANARY, encoding="utf-8")

    def to_link(path: Path) -> None:
        path.unlink()
        path.symlink_to(secret)

    _swap_before_open(monkeypatch, seeds, "a.txt", to_link)
    with open_folder(seeds) as folder, pytest.raises(Refused, match="could not be opened safely"):
        folder.read("a.txt", 1000)


def test_file_replaced_by_another_between_check_and_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "a.txt").write_text("harmless", encoding="utf-8")

    def to_other(path: Path) -> None:
        other = path.with_name("other")
        other.write_text(CANARY, encoding="utf-8")
        os.replace(other, path)

    _swap_before_open(monkeypatch, seeds, "a.txt", to_other)
    with open_folder(seeds) as folder, pytest.raises(Refused, match="replaced by another file"):
        folder.read("a.txt", 1000)


def _listing(seeds: Path) -> dict[str, os.stat_result]:
    """The listing pipeline.fingerprint takes: each name with its lstat."""
    with os.scandir(seeds) as entries:
        return {e.name: e.stat(follow_symlinks=False) for e in entries}


def test_a_listing_taken_before_loads_what_a_fresh_one_loads(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for name, text in {**GOOD, "b.txt": "Second story.\n", "notes.doc": "?", "_draft.txt": "x"}.items():
        (seeds / name).write_text(text, encoding="utf-8")
    (seeds / "c.txt").symlink_to("b.txt")  # followed: inside seeds/
    (seeds / "d.txt").symlink_to(tmp_path / "outside.txt")  # refused
    (seeds / "sub").mkdir()

    def seen(raw: Any) -> tuple[Any, ...]:
        return (sorted((k, a.text) for k, a in raw.articles.items()), sorted(raw.annotations),
                sorted(p.format() for p in raw.problems), sorted(raw.known))

    assert seen(load(seeds, lstats=_listing(seeds))) == seen(load(seeds))
    # A file removed after the listing: a problem that says so, not a crash.
    listing = _listing(seeds)
    (seeds / "b.txt").unlink()
    raw = load(seeds, lstats=listing)
    assert any("b.txt" in p.format() and "removed while the seeds were read" in p.format() for p in raw.problems)
    assert "a" in raw.articles


def test_link_out_of_docs_stops_the_build(project: Any, tmp_path: Path) -> None:
    secret = tmp_path / "secret.md"
    secret.write_text(f"# {CANARY}\n", encoding="utf-8")
    root = project(GOOD)
    (root / "docs/guide/secret.md").symlink_to(secret)
    code, _, err = run("build", "--root", str(root), "--edition", "hosted")
    assert code == EXIT_BUILD
    assert "docs/guide/secret.md: a symbolic link to a path outside the project" in err
    assert not (root / "site").exists()


# Names starting with a dot are skipped before they are split (and pathlib
# reads "." and ".." as folders, not names).
@given(st.text(alphabet="ab.Y_-", min_size=1, max_size=8).filter(lambda n: not n.startswith(".")))
def test_a_seed_name_splits_into_stem_and_suffix_as_pathlib_splits_it(name: str) -> None:
    assert _split_suffix(name) == (PurePosixPath(name).stem, PurePosixPath(name).suffix)
