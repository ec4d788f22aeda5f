from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from marac.agencies.models import new_id
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='Agency',
            fields=[
                ('id', fields.CharField(primary_key=True, default=new_id, unique=True, db_index=True, max_length=32)),
                ('name', fields.CharField(unique=True, max_length=200)),
                ('kind', fields.CharField(max_length=40)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'agency', 'app': 'marac', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AuditEvent',
            fields=[
                ('seq', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('user_id', fields.CharField(null=True, db_index=True, max_length=32)),
                ('agency_id', fields.CharField(null=True, max_length=32)),
                ('action', fields.CharField(max_length=64)),
                ('object_type', fields.CharField(null=True, max_length=64)),
                ('object_id', fields.CharField(null=True, db_index=True, max_length=64)),
                ('conference_id', fields.CharField(null=True, db_index=True, max_length=32)),
                ('outcome', fields.CharField(max_length=16)),
                ('request_id', fields.CharField(null=True, max_length=64)),
                ('prev_hash', fields.CharField(max_length=64)),
                ('hash', fields.CharField(max_length=64)),
            ],
            options={'table': 'audit_event', 'app': 'marac', 'pk_attr': 'seq'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Conference',
            fields=[
                ('id', fields.CharField(primary_key=True, default=new_id, unique=True, db_index=True, max_length=32)),
                ('name', fields.CharField(max_length=200)),
                ('slug', fields.CharField(unique=True, max_length=64)),
                ('type', fields.CharField(max_length=64)),
                ('weekday', fields.CharField(max_length=10)),
                ('start_time', fields.CharField(max_length=5)),
                ('first_date', fields.DateField()),
                ('type_settings', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'conference', 'app': 'marac', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Job',
            fields=[
                ('id', fields.CharField(primary_key=True, default=new_id, unique=True, db_index=True, max_length=32)),
                ('name', fields.CharField(max_length=64)),
                ('status', fields.CharField(default='queued', max_length=16)),
                ('progress', fields.IntField(default=0)),
                ('error', fields.CharField(null=True, max_length=500)),
                ('requested_by', fields.CharField(null=True, max_length=32)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'job', 'app': 'marac', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LoginFailure',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account_key', fields.CharField(db_index=True, max_length=64)),
                ('ip', fields.CharField(db_index=True, max_length=64)),
                ('at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'login_failure', 'app': 'marac', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Membership',
            fields=[
                ('id', fields.CharField(primary_key=True, default=new_id, unique=True, db_index=True, max_length=32)),
                ('conference', fields.ForeignKeyField('marac.Conference', source_field='conference_id', db_constraint=True, to_field='id', related_name='memberships', on_delete=OnDelete.CASCADE)),
                ('agency', fields.ForeignKeyField('marac.Agency', source_field='agency_id', db_constraint=True, to_field='id', related_name='memberships', on_delete=OnDelete.RESTRICT)),
                ('tier', fields.CharField(max_length=16)),
            ],
            options={'table': 'membership', 'app': 'marac', 'unique_together': (('conference', 'agency'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='User',
            fields=[
                ('id', fields.CharField(primary_key=True, default=new_id, unique=True, db_index=True, max_length=32)),
                ('email', fields.CharField(unique=True, max_length=254)),
                ('name', fields.CharField(max_length=200)),
                ('agency', fields.ForeignKeyField('marac.Agency', source_field='agency_id', db_constraint=True, to_field='id', related_name='users', on_delete=OnDelete.RESTRICT)),
                ('role', fields.CharField(max_length=16)),
                ('password_hash', fields.CharField(null=True, max_length=200)),
                ('totp_secret', fields.CharField(null=True, max_length=64)),
                ('totp_confirmed', fields.BooleanField(default=False)),
                ('totp_last_step', fields.BigIntField(default=0)),
                ('active', fields.BooleanField(default=True)),
                ('demo', fields.BooleanField(default=False)),
                ('setup_token_hash', fields.CharField(null=True, unique=True, max_length=64)),
                ('setup_expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('conferences', fields.ManyToManyField('marac.Conference', unique=True, db_constraint=True, through='user_conference', forward_key='conference_id', backward_key='user_id', related_name='users', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'user', 'app': 'marac', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ApiToken',
            fields=[
                ('id', fields.CharField(primary_key=True, default=new_id, unique=True, db_index=True, max_length=32)),
                ('user', fields.ForeignKeyField('marac.User', source_field='user_id', db_constraint=True, to_field='id', related_name='tokens', on_delete=OnDelete.CASCADE)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('label', fields.CharField(max_length=100)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('last_used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'api_token', 'app': 'marac', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Session',
            fields=[
                ('id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('user', fields.ForeignKeyField('marac.User', source_field='user_id', db_constraint=True, to_field='id', related_name='sessions', on_delete=OnDelete.CASCADE)),
                ('mfa_passed', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('last_seen_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'session', 'app': 'marac', 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
