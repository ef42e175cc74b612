"""Reading a /metrics answer as a test would: each sample's value by its name and labels."""

from dataclasses import dataclass

import httpx
from prometheus_client.parser import text_string_to_metric_families


@dataclass(frozen=True)
class Scrape:
    text: str
    families: set[str]  # every metric's name, shown with samples or not (a counter's without `_total`)
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float]

    def value(self, name: str, **labels: str) -> float:
        """The sample's value; 0 for a series not yet shown (a counter never incremented)."""
        return self.samples.get((name, frozenset(labels.items())), 0.0)

    def series(self, name: str) -> list[dict[str, str]]:
        return [dict(labels) for sample_name, labels in self.samples if sample_name == name]


def parse(text: str) -> Scrape:
    families = list(text_string_to_metric_families(text))
    samples = {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in families
        for sample in family.samples
    }
    return Scrape(text, {family.name for family in families}, samples)


def scrape(base_url: str, token: str | None = None) -> Scrape:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    answer = httpx.get(f"{base_url}/metrics", headers=headers, timeout=30)
    assert answer.status_code == 200, answer.text
    return parse(answer.text)
