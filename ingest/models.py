"""A batch file on its way in, its chunks (one Celery task each) and its rejected lines."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse


class Batch(models.Model):
    """One uploaded NDJSON[.gz] file and the state of its ingestion.

    Status and counts live here (not in a Celery result backend) so the UI can
    poll them and a re-run can see what is already done.
    """

    class Source(models.TextChoices):
        UPLOAD = "upload"
        API = "api", "API"
        CLI = "cli", "Command line"

    class Status(models.TextChoices):
        PENDING = "pending"
        SPLITTING = "splitting"
        LOADING = "loading"
        DETECTING = "detecting"
        DONE = "done"
        FAILED = "failed"

    source = models.CharField(max_length=16, choices=Source.choices)
    filename = models.CharField(max_length=255)
    file = models.FileField(upload_to="batches/%Y/%m/%d/", max_length=500, blank=True)
    # A file the command line ingests in place (`ingest --no-copy`) instead of `file`.
    source_path = models.CharField(max_length=1000, blank=True)
    size_bytes = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, db_index=True)
    # An earlier batch with the same bytes, if any: the UI says "same file as batch N".
    duplicate_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    error = models.TextField(blank=True, help_text="Batch-level error; empty unless status is failed.")
    lines_total = models.BigIntegerField(default=0)
    chunks_total = models.IntegerField(default=0)
    chunks_done = models.IntegerField(default=0)
    chunk_lines = models.IntegerField(default=200_000, help_text="Lines per chunk, fixed when the batch is created.")
    # The splitter that owns the batch while it is `splitting`, and when it last said it was alive:
    # a stale split is taken over by `batch_resume`, and the loser's chunks are discarded.
    split_token = models.CharField(max_length=32, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    records = models.BigIntegerField(default=0, help_text="Valid records read (stored, unchanged or duplicate).")
    accounts_new = models.BigIntegerField(default=0)
    accounts_updated = models.BigIntegerField(default=0)
    alerts_new = models.BigIntegerField(default=0)
    events_new = models.BigIntegerField(default=0)
    duplicates = models.BigIntegerField(default=0)
    rejected = models.BigIntegerField(default=0)

    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "batches"

    def __str__(self) -> str:
        return f"Batch {self.pk} ({self.filename})"

    def get_absolute_url(self) -> str:
        return reverse("batch-detail", args=[self.pk])

    FINISHED = (Status.DONE, Status.FAILED)

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def duration_seconds(self) -> float | None:
        """From the first worker picking the batch up to its end."""
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None

    @property
    def progress_percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.chunks_total:
            return 0
        return int(100 * self.chunks_done / self.chunks_total)


class BatchChunk(models.Model):
    """A slice of a batch's lines that one task validates and loads.

    The splitter writes each chunk as its own plain NDJSON file so that chunk
    tasks can run on any worker in any order. A chunk's counts are written in
    the same transaction as its rows, so a killed worker either committed a
    chunk completely or not at all, and the re-run redoes only what is missing.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        DONE = "done"

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="chunks")
    index = models.IntegerField()
    first_line = models.BigIntegerField(help_text="1-based line number of the chunk's first line in the batch.")
    line_count = models.IntegerField()
    # A gzip batch is decompressed into one file per chunk; a plain batch is read in place,
    # from `byte_offset` for `byte_length` bytes, so splitting it copies nothing.
    file = models.FileField(upload_to="chunks/", max_length=500, blank=True)
    byte_offset = models.BigIntegerField(default=0)
    byte_length = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)

    records = models.BigIntegerField(default=0, help_text="Valid records read (stored, unchanged or duplicate).")
    accounts_new = models.BigIntegerField(default=0)
    accounts_updated = models.BigIntegerField(default=0)
    alerts_new = models.BigIntegerField(default=0)
    events_new = models.BigIntegerField(default=0)
    duplicates = models.BigIntegerField(default=0)
    rejected = models.BigIntegerField(default=0)
    # Ids of the accounts this chunk's snapshots updated: the batch counts their union, not the sum.
    updated_accounts = models.JSONField(default=list, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["batch", "index"], name="chunk_batch_index_uniq")]
        ordering = ["batch", "index"]

    def __str__(self) -> str:
        return f"Batch {self.batch_id} chunk {self.index}"


class RejectedLine(models.Model):
    """A line of a batch that failed validation: its 1-based number and a one-line reason."""

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="rejected_lines")
    line_no = models.BigIntegerField()
    reason = models.CharField(max_length=500)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["batch", "line_no"], name="rejected_batch_line_uniq")]
        ordering = ["batch", "line_no"]

    def __str__(self) -> str:
        return f"line {self.line_no}: {self.reason}"
