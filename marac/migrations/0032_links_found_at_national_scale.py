from tortoise import migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

# Found by bench/national.py's page sweep at national scale (docs/benchmarks.md, "Every page and API read"):
# - referral (merged_into_id): every read of a case lists the duplicates merged into it, which read all
#   500,000 referrals (104 ms a read); likewise a case's possible duplicates and its repeats
#   (possible_duplicate_of_id, previous_referral_id). Each of these is also a foreign key ON DELETE SET
#   NULL, so removing a referral (retention) read the whole table once for each;
# - agenda_item (referral_id): a case's earlier deferrals and hearings (the chair's preparation, the
#   referral's page) read every agenda item of the country (51 ms).


class Migration(migrations.Migration):
    dependencies = [("marac", "0031_audit_pending")]

    initial = False

    operations = [
        ops.AddIndex(model_name="Referral", index=Index(fields=["merged_into_id"])),
        ops.AddIndex(model_name="Referral", index=Index(fields=["possible_duplicate_of_id"])),
        ops.AddIndex(model_name="Referral", index=Index(fields=["previous_referral_id"])),
        ops.AddIndex(model_name="AgendaItem", index=Index(fields=["referral_id"])),
    ]
