"""Areas of a batch parse the same police.uk files at once: the Parquet cache must cope."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sa_lib.data.police_uk import read_police_uk
from sa_lib.paths import DATA_DIR


def test_threads_filling_an_empty_cache_together(tmp_path: Path) -> None:
    files = sorted((DATA_DIR / "police_uk" / "kent_sample").glob("*.csv.gz"))
    cache = tmp_path / "cache"

    def load(area: str) -> int:
        return len(read_police_uk(files, area=area, cache_dir=cache))

    areas = ["E22000142", "E22000149", "E22000142", "E22000149"]
    with ThreadPoolExecutor(max_workers=4) as pool:
        counts = list(pool.map(load, areas))
    assert counts[0] == counts[2] and counts[1] == counts[3] and min(counts) > 0
    assert not list(cache.rglob("*.tmp*")), "temporary cache files left behind"
    assert len(list(cache.rglob("*.parquet"))) == len(files)
