# Standard Webhooks signing (#13): a stable webhook-id per delivery, whsec_ secrets, secret rotation.

import base64
import binascii
import uuid

from django.db import migrations, models

import routing.models


def _is_whsec(secret):
    if not secret.startswith("whsec_"):
        return False
    try:
        return bool(base64.b64decode(secret[len("whsec_"):], validate=True))
    except (binascii.Error, ValueError):
        return False


def forwards(apps, schema_editor):
    """Give every existing delivery its own webhook-id; rewrite each plain-text secret as
    whsec_<base64 of its bytes>, the same HMAC key, so receivers' X-EQL-Signature checks keep passing."""
    WebhookDelivery = apps.get_model("routing", "WebhookDelivery")
    WebhookEndpoint = apps.get_model("routing", "WebhookEndpoint")
    for pk in WebhookDelivery.objects.filter(message_id__isnull=True).values_list("pk", flat=True).iterator():
        WebhookDelivery.objects.filter(pk=pk).update(message_id=f"msg_{uuid.uuid4().hex}")
    for endpoint in WebhookEndpoint.objects.all():
        if not _is_whsec(endpoint.secret):
            endpoint.secret = "whsec_" + base64.b64encode(endpoint.secret.encode()).decode()
            endpoint.save(update_fields=["secret"])


def backwards(apps, schema_editor):
    """Back to the plain-text secret the old X-EQL-Signature code keys its HMAC with."""
    WebhookEndpoint = apps.get_model("routing", "WebhookEndpoint")
    for endpoint in WebhookEndpoint.objects.all():
        if _is_whsec(endpoint.secret):
            try:
                raw = base64.b64decode(endpoint.secret[len("whsec_"):]).decode()
            except UnicodeDecodeError:
                continue  # a generated (binary) key has no text form; leave it
            if len(raw) <= 128:
                endpoint.secret = raw
                endpoint.save(update_fields=["secret"])


class Migration(migrations.Migration):

    dependencies = [
        ('routing', '0004_pass_alert_kind'),
    ]

    operations = [
        migrations.AddField(
            model_name='webhookdelivery',
            name='message_id',
            field=models.CharField(editable=False, max_length=40, null=True),
        ),
        migrations.AddField(
            model_name='webhookendpoint',
            name='previous_secret',
            field=models.CharField(blank=True, help_text="The secret before the last rotation; deliveries are signed with both until it is retired ('Retire previous signing secret' action).", max_length=200, validators=[routing.models.webhook_secret_validate]),
        ),
        migrations.AddField(
            model_name='webhookendpoint',
            name='secret_rotated_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name='webhookendpoint',
            name='secret',
            field=models.CharField(help_text="Current signing secret (whsec_ followed by base64), shared with the receiver. Editing it switches at once; the 'Rotate signing secret' action keeps the old one valid too.", max_length=200, validators=[routing.models.webhook_secret_validate]),
        ),
        migrations.AlterField(
            model_name='webhookendpoint',
            name='url',
            field=models.URLField(help_text='Must be a public internet address (private, loopback and link-local ones are refused).'),
        ),
        migrations.RunPython(forwards, backwards),
        migrations.AlterField(
            model_name='webhookdelivery',
            name='message_id',
            field=models.CharField(default=routing.models.webhook_message_id, editable=False, max_length=40, unique=True),
        ),
    ]
