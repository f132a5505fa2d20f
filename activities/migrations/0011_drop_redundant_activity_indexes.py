"""Drop three activity indexes no query needs (issue 15): the tenant foreign key's own index (every activity query
starts from the tenant, and each composite index leads with it) and provider_activity_id's two (its lookups are
per tenant, served by activity_tenant_provider_idx; search reads its trigram index). An activity row had 22
indexes; each insert and each non-HOT update (the dispatcher's claim and its recorded outcome) writes an entry in
every one of them, and the dispatcher's two updates were its largest PostgreSQL cost per activity.
"""
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('activities', '0010_tenant_activity_count'),
        ('tenants', '0005_tenant_has_webhook_endpoints'),
    ]

    operations = [
        migrations.AlterField(
            model_name='activity',
            name='provider_activity_id',
            field=models.CharField(blank=True, max_length=255, null=True),
        ),
        migrations.AlterField(
            model_name='activity',
            name='tenant',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='tenants.tenant'),
        ),
    ]
