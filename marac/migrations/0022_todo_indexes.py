from tortoise import migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

# The home page's to-do list (marac/todo.py) counts what waits for each user on indexed columns, so its
# queries read the rows they count and not a conference's or an agency's whole history:
# - meeting (conference_id, status, minutes_version): held meetings with no minutes approved yet;
# - minutes_recipient (agency_id, status, first_downloaded_at): an agency's copies nobody has opened;
# - match_suggestion (conference_id, status): a conference's pending matches (also /matches).


class Migration(migrations.Migration):
    dependencies = [("marac", "0021_events")]

    initial = False

    operations = [
        ops.AddIndex(
            model_name="Meeting",
            index=Index(fields=["conference_id", "status", "minutes_version"]),
        ),
        ops.AddIndex(
            model_name="MinutesRecipient",
            index=Index(fields=["agency_id", "status", "first_downloaded_at"]),
        ),
        ops.AddIndex(
            model_name="MatchSuggestion",
            index=Index(fields=["conference_id", "status"]),
        ),
    ]
