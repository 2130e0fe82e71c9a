import pytest

from genrec_trainer.schema import event_from_dict, parse_timestamp


def test_parse_timestamp_int_and_strings():
    assert parse_timestamp(1700000000) == 1700000000
    assert parse_timestamp("1700000000") == 1700000000
    assert parse_timestamp("2023-11-14T22:13:20Z") == 1700000000
    assert parse_timestamp("2023-11-14T23:13:20+01:00") == 1700000000
    assert parse_timestamp("2023-11-14T22:13:20") == 1700000000  # naive = UTC
    assert parse_timestamp("2023-11-14T22:13:20.900Z") == 1700000000  # floored
    # the Java runtime's EventTime reads these the same way (RequestEncoderTest)
    assert parse_timestamp("2000-12-31 22:12:40") == 978300760
    assert parse_timestamp("2000-12-31 23:12:40+01:00") == 978300760
    assert parse_timestamp("2000-12-31T22:12:40.9") == 978300760
    assert parse_timestamp("1969-12-31T23:59:59.5Z") == -1


@pytest.mark.parametrize("bad", ["yesterday", "2023-13-45T00:00:00", "", True, None, [1]])
def test_parse_timestamp_malformed(bad):
    with pytest.raises(ValueError, match="malformed timestamp"):
        parse_timestamp(bad)


def test_event_from_dict():
    e = event_from_dict({"user_id": 5, "item_id": "i1", "action": "click", "timestamp": "2023-11-14T22:13:20Z",
                         "query": "red shoes", "label": "1"})
    assert (e.user_id, e.timestamp, e.query, e.label) == ("5", 1700000000, "red shoes", 1)
    with pytest.raises(ValueError, match="timestamp"):
        event_from_dict({"user_id": "u", "item_id": "i", "action": "click"})
