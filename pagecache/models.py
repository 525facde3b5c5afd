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


class NginxLogPosition(models.Model):
    """How far ``pagecache.nginx_log`` has read nginx's page log in ``directory`` (one row each)."""

    directory = models.CharField(max_length=500, unique=True)
    inode = models.BigIntegerField()
    offset = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.directory}: inode {self.inode} at {self.offset}"
