import pytest

from workspaces.units import format_size, parse_size


@pytest.mark.parametrize(("text", "size"), [
    ("4G", 4 * 10**9), ("512Mi", 512 * 2**20), ("1.5GiB", int(1.5 * 2**30)), ("1073741824", 2**30),
    ("2 Gi", 2 * 2**30), ("100k", 100_000), (2048, 2048),
])
def test_parse(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "lots", "4 parsecs", "-1G", "G4", -5])
def test_parse_refuses_with_a_message(text):
    with pytest.raises(ValueError, match="size|unit|negative"):
        parse_size(text)


@pytest.mark.parametrize(("size", "text"), [(2**30, "1 GiB"), (512 * 2**20, "512 MiB"), (int(1.5 * 2**30), "1.5 GiB"), (10, "10 B")])
def test_format(size, text):
    assert format_size(size) == text
