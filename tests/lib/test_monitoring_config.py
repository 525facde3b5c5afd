"""deploy/prometheus.yml and deploy/grafana-dashboard.json parse, scrape what the app serves,
and the dashboard only charts metrics that lib/metrics.py defines (a renamed metric would leave a
launch-night panel silently empty)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from prometheus_client import Counter, Histogram

from lib import metrics

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def defined_sample_names() -> set[str]:
    names: set[str] = set()
    for obj in vars(metrics).values():
        if isinstance(obj, Counter):
            names.add(f"{obj._name}_total")
        elif isinstance(obj, Histogram):
            names.update(f"{obj._name}_{suffix}" for suffix in ("bucket", "count", "sum"))
    return names


@pytest.mark.django_db
def test_the_scrape_config_parses_and_points_at_metrics():
    config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    (job,) = config["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    assert job["authorization"]["type"] == "Bearer"
    assert job["static_configs"][0]["targets"] == ["web:8000"]


@pytest.mark.django_db
def test_the_dashboard_parses_and_charts_only_defined_metrics():
    dashboard = json.loads((DEPLOY / "grafana-dashboard.json").read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    assert len(dashboard["panels"]) >= 10
    used = {name for expr in exprs for name in re.findall(r"\bcrowd_[a-z_]+\b", expr)}
    scrape_time = {family.name for family in metrics.ScrapeTimeCollector().collect()}
    assert scrape_time == {"crowd_celery_queue_length", "crowd_picker_live_reservations"}
    unknown = used - defined_sample_names() - scrape_time
    assert not unknown, f"the dashboard charts metrics nobody defines: {sorted(unknown)}"
    for needed in ("crowd_reviews_total", "crowd_picker_picks_total", "crowd_celery_queue_length"):
        assert needed in used
