"""The daily DAGs' timetable: one run per local day of the spec's time zone, due once the
day is over there and the upstream has delivered it.

The run for day D has the data interval [D 00:00, D+1 00:00) local time (23 or 25 hours
on the days the clocks change) and the logical date D 00:00 local, so the run names the
partition `ds=D`; it is due (Airflow's `run_after`) at D+1 00:00 local plus the delivery
delay, a duration in hours. None of Airflow's own timetables puts a delay between the end
of the data interval and the run, hence this one; the mlgate plugin (plugins/) registers
it so the scheduler can read it back from the serialized DAG."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pendulum
from airflow.timetables.base import DagRunInfo, DataInterval, TimeRestriction, Timetable


def utcnow() -> pendulum.DateTime:
    return pendulum.now("UTC")


class DeliveredDaily(Timetable):
    """A run per local day of `timezone`, due `delay_hours` after the day ends."""

    periodic = True

    def __init__(self, timezone: str, delay_hours: float = 0.0) -> None:
        self.timezone = str(timezone)
        self.delay_hours = float(delay_hours)
        self._tz = pendulum.timezone(self.timezone)
        self.description = (
            f"daily, per {self.timezone} day, due {self.delay_hours:g} h after the day ends"
        )

    @property
    def summary(self) -> str:
        return f"daily ({self.timezone}) +{self.delay_hours:g}h"

    def serialize(self) -> dict[str, Any]:
        return {"timezone": self.timezone, "delay_hours": self.delay_hours}

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> DeliveredDaily:
        return cls(data["timezone"], data["delay_hours"])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DeliveredDaily) and self.serialize() == other.serialize()

    def __hash__(self) -> int:
        return hash((self.timezone, self.delay_hours))

    # -- days ------------------------------------------------------------------
    def day_of(self, instant: dt.datetime) -> dt.date:
        """The local day `instant` falls in."""
        return pendulum.instance(instant).in_timezone(self._tz).date()

    def interval(self, day: dt.date) -> DataInterval:
        """Day `day`, local midnight to local midnight, as UTC instants."""
        start = pendulum.datetime(day.year, day.month, day.day, tz=self._tz)
        nxt = day + dt.timedelta(days=1)
        end = pendulum.datetime(nxt.year, nxt.month, nxt.day, tz=self._tz)
        return DataInterval(start.in_timezone("UTC"), end.in_timezone("UTC"))

    def due(self, day: dt.date) -> pendulum.DateTime:
        """When the run for `day` may start: the day's end plus the delivery delay."""
        return self.interval(day).end + dt.timedelta(hours=self.delay_hours)

    # -- Airflow's interface ---------------------------------------------------
    def infer_manual_data_interval(self, *, run_after: pendulum.DateTime) -> DataInterval:
        """A manual run (or `dag.test`) for a logical date covers the local day of that date."""
        return self.interval(self.day_of(run_after))

    def next_dagrun_info(
        self,
        *,
        last_automated_data_interval: DataInterval | None,
        restriction: TimeRestriction,
    ) -> DagRunInfo | None:
        candidates = []
        if last_automated_data_interval is not None:
            candidates.append(self.day_of(last_automated_data_interval.start) + dt.timedelta(1))
        elif restriction.earliest is not None:
            first = self.day_of(restriction.earliest)
            late = restriction.earliest > self.interval(first).start  # not at local midnight
            candidates.append(first + dt.timedelta(days=int(late)))
        if not restriction.catchup:  # the latest day already due, no older one
            now = utcnow() - dt.timedelta(hours=self.delay_hours)
            candidates.append(self.day_of(now) - dt.timedelta(days=1))
        if not candidates:
            return None
        day = max(candidates)
        interval = self.interval(day)
        if restriction.latest is not None and interval.start > restriction.latest:
            return None
        return DagRunInfo(run_after=self.due(day), data_interval=interval)
