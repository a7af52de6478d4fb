"""messages: claimed and unconfirmed statuses

Reviewed: widens the CHECK on messages.status with `claimed` (taken by a worker, not yet
handed to Twilio) and `unconfirmed` (handed to Twilio without an answer: looked up before
anything else happens to it). No column changes. Downgrade first moves rows in the new states
to what the old worker made of them (`claimed` back to `queued`, since Twilio never had them;
`unconfirmed` to `review`), then restores the narrower CHECK.

Revision ID: 6ec92dee2778
Revises: 040797be55fa
Create Date: 2026-12-03 15:10:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '6ec92dee2778'
down_revision = '040797be55fa'
branch_labels = None
depends_on = None

OLD = ('queued', 'sending', 'sent', 'delivered', 'undelivered', 'failed', 'review', 'dropped', 'received')
NEW = ('queued', 'claimed', 'sending', 'unconfirmed', 'sent', 'delivered', 'undelivered', 'failed', 'review', 'dropped', 'received')


def _replace_check(statuses):
    listed = ", ".join(f"'{status}'" for status in statuses)
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_messages_status_valid'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_messages_status_valid'), f"status IN ({listed})")


def upgrade():
    _replace_check(NEW)


def downgrade():
    op.execute("UPDATE messages SET status = 'queued' WHERE status = 'claimed'")
    op.execute("UPDATE messages SET status = 'review' WHERE status = 'unconfirmed'")
    _replace_check(OLD)
