"""Survey.structure_version, moved by triggers on every write to a survey's pages, questions
and choices (any writer: the admin, services, importers, raw SQL), so that a per-process cache
of the structure can never miss an edit."""

from django.db import migrations, models

TABLES = ("survey_page", "survey_question", "survey_choice")

POSTGRES = """
CREATE FUNCTION survey_structure_touch() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[] := '{}';
BEGIN
    IF TG_TABLE_NAME = 'survey_choice' THEN
        IF TG_OP <> 'INSERT' THEN
            ids := ids || (SELECT survey_id FROM survey_question WHERE id = OLD.question_id);
        END IF;
        IF TG_OP <> 'DELETE' THEN
            ids := ids || (SELECT survey_id FROM survey_question WHERE id = NEW.question_id);
        END IF;
    ELSE
        IF TG_OP <> 'INSERT' THEN ids := ids || OLD.survey_id; END IF;
        IF TG_OP <> 'DELETE' THEN ids := ids || NEW.survey_id; END IF;
    END IF;
    UPDATE survey_survey SET structure_version = structure_version + 1 WHERE id = ANY(ids);
    RETURN NULL;
END $$;

CREATE FUNCTION survey_structure_version_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.structure_version := GREATEST(NEW.structure_version, OLD.structure_version);
    RETURN NEW;
END $$;

CREATE TRIGGER survey_structure_version_kept BEFORE UPDATE ON survey_survey
    FOR EACH ROW EXECUTE FUNCTION survey_structure_version_kept();
""" + "".join(
    f"CREATE TRIGGER {table}_structure AFTER INSERT OR UPDATE OR DELETE ON {table} "
    "FOR EACH ROW EXECUTE FUNCTION survey_structure_touch();\n"
    for table in TABLES
)
POSTGRES_DROP = (
    "".join(f"DROP TRIGGER IF EXISTS {table}_structure ON {table};\n" for table in TABLES)
    + "DROP TRIGGER IF EXISTS survey_structure_version_kept ON survey_survey;\n"
    "DROP FUNCTION IF EXISTS survey_structure_version_kept();\n"
    "DROP FUNCTION IF EXISTS survey_structure_touch();\n"
)


def _sqlite() -> list[str]:
    bump = "UPDATE survey_survey SET structure_version = structure_version + 1 WHERE id = {};"
    survey_of = {
        "survey_page": "{row}.survey_id",
        "survey_question": "{row}.survey_id",
        "survey_choice": "(SELECT survey_id FROM survey_question WHERE id = {row}.question_id)",
    }
    statements = [
        "CREATE TRIGGER survey_structure_version_kept AFTER UPDATE OF structure_version "
        "ON survey_survey WHEN NEW.structure_version < OLD.structure_version BEGIN "
        "UPDATE survey_survey SET structure_version = OLD.structure_version WHERE id = NEW.id; "
        "END"
    ]
    for table, of in survey_of.items():
        new, old = bump.format(of.format(row="NEW")), bump.format(of.format(row="OLD"))
        statements += [
            f"CREATE TRIGGER {table}_structure_insert AFTER INSERT ON {table} BEGIN {new} END",
            f"CREATE TRIGGER {table}_structure_update AFTER UPDATE ON {table} "
            f"BEGIN {old} {new} END",
            f"CREATE TRIGGER {table}_structure_delete AFTER DELETE ON {table} BEGIN {old} END",
        ]
    return statements


def _sqlite_drop() -> list[str]:
    return ["DROP TRIGGER IF EXISTS survey_structure_version_kept"] + [
        f"DROP TRIGGER IF EXISTS {table}_structure_{op}"
        for table in TABLES
        for op in ("insert", "update", "delete")
    ]


def triggers_create(apps, schema_editor) -> None:  # noqa: ANN001 (migration signature)
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES)
    elif vendor == "sqlite":
        for statement in _sqlite():
            schema_editor.execute(statement)
    else:
        raise NotImplementedError(f"No structure-version triggers for {vendor}")


def triggers_drop(apps, schema_editor) -> None:  # noqa: ANN001
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_DROP)
    elif vendor == "sqlite":
        for statement in _sqlite_drop():
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("survey", "0007_answer_rules")]

    operations = [
        migrations.AddField(
            model_name="survey",
            name="structure_version",
            field=models.PositiveBigIntegerField(default=0, editable=False),
        ),
        migrations.RunPython(triggers_create, triggers_drop),
    ]
