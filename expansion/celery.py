"""Celery application: the hourly scoring pass, chunk workers, notifications and webhooks."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "expansion.settings")

app = Celery("expansion")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Scheduled jobs that queue other tasks live beside them, in each app's jobs module.
app.autodiscover_tasks(related_name="jobs")
app.autodiscover_tasks(["routing.slack"])  # Slack interaction tasks (routing/slack/tasks.py)
