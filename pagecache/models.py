from django.db import models


class PageCacheStat(models.Model):
    """Page cache counts per hour and name (hit, miss, bump, ...): see ``pagecache.stats``."""

    hour = models.DateTimeField()
    name = models.CharField(max_length=32)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["hour", "name"], name="pagecachestat_hour_name")]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H}:00 {self.name} x{self.count}"
