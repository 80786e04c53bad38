"""A study stream's event id says where every run is, and reads back as it was sent."""

import pytest

from api.core.errors import ApiError
from api.events.service import decode_cursor, encode_cursor


def test_the_id_round_trips_and_leaves_out_runs_with_no_epoch() -> None:
    cursor = {13: 38, 12: 40, 14: 0}
    assert encode_cursor(cursor) == "12:40,13:38"
    assert decode_cursor(encode_cursor(cursor)) == {12: 40, 13: 38}
    assert decode_cursor(None) == decode_cursor("") == {}


@pytest.mark.parametrize("text", ["x", "12", "12:4:0", "12:-1", "a:1", "12:1,"])
def test_an_id_that_is_not_one_is_a_422_naming_the_header(text: str) -> None:
    with pytest.raises(ApiError) as raised:
        decode_cursor(text)
    assert raised.value.status_code == 422
    detail: list[dict[str, str]] = raised.value.detail  # type: ignore[assignment]
    assert detail[0]["path"] == "header.Last-Event-ID"
