from __future__ import annotations

from pathlib import Path

import pytest

from xconduit.config import load_settings
from xconduit.config.reference import render
from xconduit.errors import ConfigError

SHOP = """
[x]
api = "https://ads-api.x.com"

[[sources]]
name = "website"
write_keys = ["wk_browser_1"]
allowed_origins = ["https://shop.example"]

[[conversions]]
name = "shop"
account_id = "18ce552mlaq"
pixel_id = "oka17"
events = { "Order Completed" = "tw-oka17-ol288", "Signed Up" = "ol289" }
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "xconduit.toml"
    path.write_text(text)
    return path


def test_toml_is_read_into_typed_settings(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, SHOP), environ={})
    assert settings.conversions[0].events["Signed Up"] == "tw-oka17-ol289"
    assert settings.delivery.batch_size == 500
    assert settings.delivery.retry_window == 4 * 3600


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            '[[conversions]]\nname="b"\naccount_id="18ce552mlaq"\npixel_id="oka17"\nevents={A="abc"}\n',
            'xconduit.toml: conversions[1].events: event id "abc" is not an X event id '
            '(expected "tw-<pixel>-<event>" or "<event>")',
        ),
        (
            '[[conversions]]\nname="b"\naccount_id="18ce552mlaq"\npixel_id="oka17"\n'
            'events={A="tw-zzz99-ol288"}\n',
            'belongs to pixel "zzz99", not this destination\'s pixel "oka17"',
        ),
        (
            "[delivery]\nbatch_size = 501\n",
            "delivery.batch_size: Input should be less than or equal to 500",
        ),
        ('[delivery]\nbatch_age = "soon"\n', "delivery.batch_age: 'soon' is not a duration"),
        (
            "[delivery]\nbatchsize = 5\n",
            'delivery.batchsize: unknown key (did you mean "batch_size"?)',
        ),
        ('[server]\nlisten = "8088"\n', 'server.listen: "8088" is not host:port'),
        ('[server]\nstore = "memory:"\n', 'server.store: "memory:" is not a store URL'),
        (
            '[[conversions]]\nname="c"\naccount_id="18ce552mlaq"\npixel_id="oka17"\nphone_region="ZZ"\n',
            'conversions[1].phone_region: "ZZ" is not a region phone numbers can be read in',
        ),
        (
            '[[sources]]\nname="website"\nwrite_keys=["k2"]\n',
            'sources[1].name: "website" is used twice',
        ),
        (
            '[[conversions]]\nname="c"\naccount_id="18ce552mlaq"\n',
            "conversions[1].pixel_id: required key is missing",
        ),
    ],
)
def test_errors_name_the_file_the_key_and_the_rule(
    tmp_path: Path, extra: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, SHOP + extra), environ={})
    assert expected in str(info.value)
    assert str(info.value).startswith(str(tmp_path / "xconduit.toml"))


def test_environment_overrides_the_file_for_every_key(tmp_path: Path) -> None:
    settings = load_settings(
        write(tmp_path, SHOP),
        environ={
            "XCONDUIT_DELIVERY__BATCH_SIZE": "100",
            "XCONDUIT_CONVERSIONS__0__PIXEL_ID": "oka18",
            "XCONDUIT_CONVERSIONS__0__EVENTS": '{"Lead": "ol290"}',
            "XCONDUIT_X__CONSUMER_KEY": "ck-from-env",
            "OTHER_VAR": "ignored",
        },
    )
    assert settings.delivery.batch_size == 100
    assert settings.conversions[0].pixel_id == "oka18"
    assert settings.conversions[0].events == {"Lead": "tw-oka18-ol290"}
    assert settings.x.consumer_key is not None
    assert settings.x.consumer_key.get_secret_value() == "ck-from-env"


def test_secret_files_win_over_variables(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("from-file\n")
    settings = load_settings(
        None,
        environ={
            "XCONDUIT_X__CONSUMER_SECRET": "from-env",
            "XCONDUIT_X__CONSUMER_SECRET_FILE": str(secret),
        },
    )
    assert settings.x.consumer_secret is not None
    assert settings.x.consumer_secret.get_secret_value() == "from-file"


def test_errors_from_the_environment_name_the_variable() -> None:
    with pytest.raises(
        ConfigError, match=r"^XCONDUIT_DELIVERY__WINDOW: delivery.window: '-' is not"
    ):
        load_settings(None, environ={"XCONDUIT_DELIVERY__WINDOW": "-"})


def test_secrets_never_appear_in_repr_or_errors(tmp_path: Path) -> None:
    settings = load_settings(
        write(tmp_path, SHOP), environ={"XCONDUIT_X__CONSUMER_SECRET": "s3cr3t-value"}
    )
    assert "s3cr3t-value" not in repr(settings)
    assert "wk_browser_1" not in repr(settings)
    with pytest.raises(ConfigError) as info:
        load_settings(
            write(tmp_path, SHOP),
            environ={"XCONDUIT_X__CONSUMER_SECRET": "s3cr3t", "XCONDUIT_X__API": "ftp:x"},
        )
    assert "s3cr3t" not in str(info.value)


def test_missing_file_and_bad_toml_are_explained(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_settings(tmp_path / "nope.toml", environ={})
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(write(tmp_path, "[x\n"), environ={})


def test_reference_page_is_generated_from_the_code() -> None:
    page = Path(__file__).parents[3] / "docs" / "reference" / "config.md"
    assert page.read_text() == render(), "run `make docs` to regenerate docs/reference/config.md"


def test_reference_lists_every_key() -> None:
    text = render()
    for key in (
        "`listen`",
        "`consumer_secret`",
        "`write_keys`",
        "`events`",
        "`single_event_tags`",
        "`flush_interval`",
        "`events_per_window`",
        "XCONDUIT_CONVERSIONS__<N>__PIXEL_ID",
    ):
        assert key in text


def test_command_flags_sharing_the_prefix_are_not_configuration() -> None:
    settings = load_settings(
        None,
        environ={
            "XCONDUIT_CONFIG": "/somewhere.toml",
            "XCONDUIT_SANDBOX_PORT": "9000",
            "XCONDUIT_BENCH_SCALE": "0.5",
            "XCONDUIT_DELIVERY__BATCH_SIZE": "7",
        },
    )
    assert settings.delivery.batch_size == 7


def test_a_postgresql_store_is_all_a_user_changes(tmp_path: Path) -> None:
    path = tmp_path / "xconduit.toml"
    path.write_text('[server]\nstore = "postgresql://xconduit@db.internal:5432/xconduit"\n')

    assert load_settings(path).server.store == "postgresql://xconduit@db.internal:5432/xconduit"


@pytest.mark.parametrize(
    ("events", "page_event_id"),
    [
        ('{ "Order Completed" = "ol288" }', '"ol293"'),
        ('{ "Order Completed" = "tw-oka17-ol288" }', '"tw-oka17-ol293"'),
    ],
)
def test_both_spellings_of_an_event_id_load_as_the_pixel_s_form(
    tmp_path: Path, events: str, page_event_id: str
) -> None:
    # X's pixel takes only `tw-<pixel>-<event>`; the Conversion API takes both. One spelling
    # on both legs, whichever the file has.
    text = (
        '[[conversions]]\nname = "shop"\naccount_id = "18ce552mlaq"\npixel_id = "oka17"\n'
        f"events = {events}\npage_event_id = {page_event_id}\n"
    )
    [shop] = load_settings(write(tmp_path, text), environ={}).conversions
    assert shop.events == {"Order Completed": "tw-oka17-ol288"}
    assert shop.page_event_id == "tw-oka17-ol293"
