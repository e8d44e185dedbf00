"""Detection's derived per-account rows (features, indicator rows, batch records) without database FK checks.

A full run writes them by the hundred thousand (785,000 indicator rows at 80,000
accounts); the deferred foreign-key trigger checked each row at commit, about a
fifth of the run. They are derived from accounts and events and rebuilt by a
full run; Django's on_delete=CASCADE still removes them with their account (as
for `UsageEvent.account`, accounts migration 0003).
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0005_event_batch_brin'),
        ('detection', '0003_event_ts_brin'),
    ]

    operations = [
        migrations.AlterField(
            model_name='accountbatch',
            name='account',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='accounts.account'),
        ),
        migrations.AlterField(
            model_name='accountfeatures',
            name='account',
            field=models.OneToOneField(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='features', serialize=False, to='accounts.account'),
        ),
        migrations.AlterField(
            model_name='accountindicator',
            name='account',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='indicator_links', to='accounts.account'),
        ),
        migrations.AlterField(
            model_name='accountindicator',
            name='indicator',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name='account_links', to='detection.indicator'),
        ),
    ]
