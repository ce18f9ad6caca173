"""`onehub serve` parses its settings before anything starts."""

from __future__ import annotations

import pytest

from onehub.cli.main import main


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--addr", "nonsense"], "onehub: addr: 'nonsense' is not host:port"),
        (["--max-body-bytes", "0"], "onehub: --max-body-bytes must be positive"),
        (
            ["--log-level", "loud"],
            "onehub: --log-level: 'loud' is not one of DEBUG, INFO, WARNING, ERROR",
        ),
    ],
)
def test_bad_settings_are_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], args: list[str], line: str
) -> None:
    assert main(["serve", *args]) == 2
    assert capsys.readouterr().err.strip() == line


def test_dev_auth_on_a_public_address_is_refused(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ONEHUB_ADDR", "0.0.0.0:9000")

    assert main(["serve"]) == 2
    assert "refused on a non-loopback address" in capsys.readouterr().err
