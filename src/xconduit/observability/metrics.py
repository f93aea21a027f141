"""`/metrics`: the Prometheus text format, every value read from the store at scrape time.

Counters come from the store's running totals, so several processes sharing one store (a
`serve` and some `worker`s) add to the same numbers and any of them answers for all. Gauges are
read from the jobs themselves (queue depth) or are this process's own state (paused accounts,
failed checks). Names and labels: docs/reference/metrics.md.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from xconduit.observability.metered import HISTOGRAMS, le_label
from xconduit.outbox.counts import CounterRow

PREFIX = "xconduit_"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

DESCRIPTIONS = {
    "events_received": "Events accepted by the collector (duplicates not counted)",
    "requests_shed": "Requests the collector refused (503) past its bound on the work held",
    "conversions_queued": "Conversions queued for delivery to X",
    "conversions_filtered": "Events a destination does not send (not mapped, no consent, ...)",
    "conversions_invalid": "Events X would reject (no usable identifier, bad value, ...)",
    "conversions_not_sent": "Filtered and invalid events, by why in plain words",
    "identifiers_dropped": "Identifiers present but unusable, by kind",
    "fields_dropped": "Other fields left out of a conversion (not a count, control character)",
    "conversions_delivered": "Conversions X accepted",
    "conversions_delivered_with": "Delivered conversions carrying an identifier kind",
    "conversions_retried": "Conversions scheduled for a retry",
    "conversions_dead": "Conversions dead-lettered, by reason",
    "x_requests": "Requests to X's Conversion API, by HTTP status",
    "x_conversions_sent": "Conversions sent to X, re-sends included (rate budget use)",
    "x_request_seconds": "Latency of requests to X's Conversion API",
    "batch_conversions": "Conversions per request to X",
    "audience_users_added": "Users X accepted into a custom audience",
    "audience_users_removed": "Users X accepted out of a custom audience",
    "audience_retried": "Audience requests scheduled for another attempt",
    "audience_dead": "Audience changes dead-lettered, by reason",
}


class StoreCollector:
    """A prometheus-client collector reading the store (and gauges from `gauges`)."""

    def __init__(
        self,
        store: Any,
        gauges: Callable[[], Iterable[Metric]] = lambda: (),
        counts: Callable[[], Mapping[str, Mapping[Any, int]]] | None = None,
    ) -> None:
        """`counts`: the jobs to show per destination and state (default: the whole store's;
        the gateway passes only its configuration's)."""
        self._store = store
        self._gauges = gauges
        self._counts = counts or store.counts

    def collect(self) -> Iterator[Metric]:
        rows: list[CounterRow] = self._store.counter_totals()
        yield from counter_families(rows)
        yield from self._queue()
        yield from self._gauges()

    def _queue(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily(
            f"{PREFIX}jobs",
            "Delivery jobs in the outbox, by state",
            labels=["destination", "state"],
        )
        for destination, states in sorted(self._counts().items()):
            for state, count in sorted(states.items()):
                depth.add_metric([destination, str(state)], count)
        yield depth


def counter_families(rows: Sequence[CounterRow]) -> Iterator[Metric]:
    """Counters and histograms from the store's totals (`<name>_bucket|_sum|_count` rows)."""
    grouped: dict[str, list[CounterRow]] = defaultdict(list)
    for row in rows:
        grouped[row.name].append(row)
    for name in sorted(HISTOGRAMS):
        yield from _histogram(name, grouped)
    for name, members in sorted(grouped.items()):
        if any(
            name == f"{h}{suffix}" for h in HISTOGRAMS for suffix in ("_bucket", "_sum", "_count")
        ):
            continue
        label_names = sorted({key for row in members for key in row.labels})
        family = CounterMetricFamily(
            f"{PREFIX}{name}", DESCRIPTIONS.get(name, name.replace("_", " ")), labels=label_names
        )
        for row in members:
            family.add_metric([row.labels.get(k, "") for k in label_names], row.value)
        yield family


def _histogram(name: str, grouped: dict[str, list[CounterRow]]) -> Iterator[Metric]:
    buckets = grouped.get(f"{name}_bucket", [])
    if not buckets:
        return
    sums = {_key(r.labels): r.value for r in grouped.get(f"{name}_sum", [])}
    series: dict[tuple[tuple[str, str], ...], dict[str, float]] = defaultdict(dict)
    for row in buckets:
        labels = {k: v for k, v in row.labels.items() if k != "le"}
        series[_key(labels)][row.labels["le"]] = row.value
    label_names = sorted({k for key in series for k, _ in key})
    family = HistogramMetricFamily(
        f"{PREFIX}{name}", DESCRIPTIONS.get(name, name), labels=label_names
    )
    for key, by_le in sorted(series.items()):
        labels = dict(key)
        bounds = [(le, by_le.get(le, 0.0)) for le in _les(name)]
        family.add_metric([labels.get(k, "") for k in label_names], bounds, sums.get(key, 0.0))
    yield family


def _les(name: str) -> list[str]:
    return [le_label(bound) for bound in HISTOGRAMS[name]] + ["+Inf"]


def _key(labels: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


def exposition(
    store: Any,
    gauges: Callable[[], Iterable[Metric]] = lambda: (),
    counts: Callable[[], Mapping[str, Mapping[Any, int]]] | None = None,
) -> bytes:
    """The whole `/metrics` body."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(store, gauges, counts))
    return generate_latest(registry)


def gauge(
    name: str, help_text: str, labels: Sequence[str], values: Iterable[tuple[list[str], float]]
) -> Metric:
    family = GaugeMetricFamily(f"{PREFIX}{name}", help_text, labels=list(labels))
    for label_values, value in values:
        family.add_metric(label_values, value)
    return family
