"""The configuration `xconduit serve` and `xconduit map` use when given none: the built-in sandbox's
demo account, pixel and events, and one source with a demo write key."""

from __future__ import annotations

from pydantic import SecretStr

from xconduit.config.model import ConversionDestination, Settings, SourceSettings, TagSettings

DEMO_WRITE_KEY = "wk_demo_xconduit"
DEMO_ACCOUNT_ID = "18ce552mlaq"
DEMO_PIXEL_ID = "oka17"
DEMO_EVENTS = {
    "Order Completed": "tw-oka17-ol288",
    "Signed Up": "tw-oka17-ol289",
    "Product Added": "tw-oka17-ol290",
    "Checkout Started": "tw-oka17-ol291",
    "Lead Generated": "tw-oka17-ol292",
}
DEMO_PAGE_EVENT_ID = "tw-oka17-ol293"


def demo_settings() -> Settings:
    return Settings(
        sources=[
            SourceSettings(
                name="demo",
                write_keys=[SecretStr(DEMO_WRITE_KEY)],
                allowed_origins=["*"],
                # No `client_ip`: the demo shows both cases, the website tag's events get the
                # visitor's address, a server library's (or curl's) do not.
            )
        ],
        conversions=[
            ConversionDestination(
                name="demo",
                account_id=DEMO_ACCOUNT_ID,
                pixel_id=DEMO_PIXEL_ID,
                events=DEMO_EVENTS,
                page_event_id=DEMO_PAGE_EVENT_ID,
                tag=[TagSettings(syntax="event", universal_pixel_id=DEMO_PIXEL_ID)],
            )
        ],
    )
