"""Seed the default taxonomy: Census frameworks, roles, sizes, industries, Kaggle aliases."""

from django.db import migrations


def seed(apps, schema_editor):
    from survey.taxonomy import DEFAULT_TAXONOMY, normalize

    Entity = apps.get_model("survey", "Entity")
    Alias = apps.get_model("survey", "Alias")
    TaxonomyVersion = apps.get_model("survey", "TaxonomyVersion")
    TaxonomyChange = apps.get_model("survey", "TaxonomyChange")
    changes = []
    for kind, specs in DEFAULT_TAXONOMY.items():
        entities = {}
        for key, name, _parent, _aliases in specs:
            entities[key], created = Entity.objects.get_or_create(
                kind=kind, key=key, defaults={"name": name}
            )
            if created:
                changes.append(f"Added {kind} {name!r} ({key})")
        for key, _name, parent, aliases in specs:
            entity = entities[key]
            if parent and entity.parent_id is None:
                entity.parent = entities[parent]
                entity.save(update_fields=["parent"])
            for text in aliases:
                _alias, created = Alias.objects.get_or_create(
                    entity=entity, normalized=normalize(text), defaults={"text": text}
                )
                if created:
                    changes.append(f"Alias {text!r} -> {kind} {key}")
    if changes:
        number = (TaxonomyVersion.objects.order_by("-number").values_list("number", flat=True).first() or 0) + 1
        version = TaxonomyVersion.objects.create(number=number, note="Default taxonomy")
        TaxonomyChange.objects.bulk_create(
            TaxonomyChange(version=version, description=text[:400]) for text in changes
        )


class Migration(migrations.Migration):
    dependencies = [("survey", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
