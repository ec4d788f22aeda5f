from tortoise import migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

# docs/benchmarks.md (HTTP): GET /api/v1/actions read every open action of the caller's agency (or conferences)
# from the table to sort them and keep a page of 50. With the sort columns and the filters in
# the index, the page is chosen from the index alone and only its rows are read. The new
# indexes start with the columns of the ones they replace, so nothing else loses its index.


class Migration(migrations.Migration):
    dependencies = [("marac", "0009_indexes_found_at_national_scale")]

    initial = False

    operations = [
        ops.AddIndex(
            model_name="Action",
            index=Index(fields=["owner_agency_id", "status", "conference_id", "due_date", "created_at", "id"]),
        ),
        ops.AddIndex(
            model_name="Action",
            index=Index(fields=["conference_id", "status", "due_date", "created_at", "id"]),
        ),
        ops.RemoveIndex(
            model_name="Action",
            name=None,
            fields=["owner_agency_id", "status", "due_date"],
        ),
        ops.RemoveIndex(
            model_name="Action",
            name=None,
            fields=["conference_id", "status", "due_date"],
        ),
    ]
