from api.core.lru import ByteLRU
from api.plots.cache import etag, etag_matches


def test_least_recently_used_go_first_once_past_the_budget() -> None:
    cache: ByteLRU[bytes] = ByteLRU(10)
    cache.put("a", b"aaaa", 4)
    cache.put("b", b"bbbb", 4)
    assert cache.get("a") == b"aaaa"  # now b is the least recently used
    cache.put("c", b"cccc", 4)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (b"aaaa", None, b"cccc")
    assert (len(cache), cache.size_bytes) == (2, 8)


def test_a_value_over_the_budget_is_not_kept_and_zero_keeps_nothing() -> None:
    cache: ByteLRU[bytes] = ByteLRU(10)
    cache.put("a", b"a", 1)
    cache.put("a", b"x" * 11, 11)  # replacing drops the old value too
    assert cache.get("a") is None and cache.size_bytes == 0
    off: ByteLRU[bytes] = ByteLRU(0)
    off.put("a", b"a", 1)
    assert off.get("a") is None


def test_etags_are_weak_and_differ_by_key() -> None:
    first, second = etag(("experiment", 1, 10)), etag(("experiment", 1, 11))
    assert first.startswith('W/"') and first.endswith('"')
    assert first != second and etag(("experiment", 1, 10)) == first


def test_if_none_match_compares_weakly_in_lists_and_star() -> None:
    tag = etag("k")
    assert etag_matches(tag, tag)
    assert etag_matches(tag.removeprefix("W/"), tag)
    assert etag_matches(f'"a", W/"b" ,{tag}', tag)
    assert etag_matches(" * ", tag)
    assert not etag_matches(None, tag)
    assert not etag_matches('W/"other"', tag)
