use std::collections::HashMap;
use std::path::Path;

use super::*;
use crate::schema::Schema;

fn catalogue() -> Catalogue {
    Catalogue::load().unwrap_or_else(|e| panic!("catalogue/{}.toml: {}", e.id, e.message))
}

#[test]
fn every_file_of_the_directory_is_bundled_and_named_by_its_id() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("catalogue");
    let mut on_disk: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".toml").map(String::from)
        })
        .collect();
    on_disk.sort();
    let bundled: Vec<String> = files().iter().map(|(id, _)| id.to_string()).collect();
    assert_eq!(bundled, on_disk);
    assert!(bundled.len() >= 39);
    for service in &catalogue().services {
        assert!(
            bundled.contains(&service.service.id),
            "{}: id differs from the file name",
            service.service.id
        );
    }
    for ((id, _), service) in files().iter().zip(&catalogue().services) {
        assert_eq!(*id, service.service.id, "catalogue/{id}.toml: id");
    }
}

#[test]
fn every_entry_has_a_requirement_and_an_https_source() {
    for s in &catalogue().services {
        let id = &s.service.id;
        assert!(s.service.docs.starts_with("https://"), "{id}: docs");
        for e in &s.variable {
            let at = format!("catalogue/{id}.toml {}", e.name);
            assert!(!e.requirement.trim().is_empty(), "{at}: requirement");
            assert!(
                e.source.starts_with("https://") && !e.source.contains(' '),
                "{at}: source must be an https URL"
            );
            if let Some(r) = &e.rotation
                && r.impact != Impact::Free
            {
                assert!(
                    r.source
                        .as_deref()
                        .is_some_and(|s| s.starts_with("https://")),
                    "{at}: an {} rotation needs a source",
                    r.impact.name()
                );
                assert!(r.breaks.is_some(), "{at}: an op/data rotation needs breaks");
            }
            for other in &e.services {
                assert!(
                    files().iter().any(|(i, _)| i == other),
                    "{at}: services names {other}, which has no catalogue file"
                );
            }
            match e.kind {
                EntryKind::Secret | EntryKind::Hashed => {
                    assert!(e.encoding.is_some(), "{at}: a secret needs an encoding")
                }
                EntryKind::Jwt => assert!(e.secret.is_some() && e.claims.is_some(), "{at}"),
                EntryKind::Keypair => assert!(e.algorithm.is_some() && e.format.is_some(), "{at}"),
                EntryKind::Setting | EntryKind::Input => {
                    assert!(e.encoding.is_none(), "{at}: only secrets have an encoding")
                }
            }
        }
        let mut names: Vec<&str> = s.variable.iter().map(|e| e.name.as_str()).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len(), "{id}: a variable is listed twice");
    }
}

#[test]
fn no_image_pattern_is_claimed_twice() {
    let mut owner: HashMap<String, String> = HashMap::new();
    for s in &catalogue().services {
        for pattern in &s.service.images {
            let normal = normalise(pattern);
            if let Some(other) = owner.get(&normal)
                && *other != s.service.id
            {
                panic!("image {pattern} is claimed by {other} and {}", s.service.id);
            }
            owner.insert(normal, s.service.id.clone());
        }
    }
    // and no pattern of one service matches a pattern of another
    let all: Vec<(String, &str)> = owner
        .iter()
        .map(|(p, id)| (p.clone(), id.as_str()))
        .collect();
    for (p, a) in &all {
        for (q, b) in &all {
            if a != b {
                assert!(!matches(p, q), "{p} ({a}) matches {q} ({b})");
            }
        }
    }
}

/// The schema text a catalogue secret becomes (without `exclude` and `uuid`, which the schema
/// gains on branch `kinds`).
fn schema_text(e: &Entry) -> String {
    let mut t = format!(
        "[schema]\nname = \"t\"\n[[variable]]\nname = {:?}\nkind = {:?}\ndescription = \"d\"\nservices = [\"s\"]\nencoding = {:?}\n",
        e.name,
        if e.kind == EntryKind::Hashed {
            "hashed"
        } else {
            "secret"
        },
        e.encoding.unwrap().name()
    );
    for (field, value) in [("bytes", e.bytes), ("chars", e.chars), ("count", e.count)] {
        if let Some(v) = value {
            t.push_str(&format!("{field} = {v}\n"));
        }
    }
    for (field, value) in [("alphabet", &e.alphabet), ("separator", &e.separator)] {
        if let Some(v) = value {
            t.push_str(&format!("{field} = {v:?}\n"));
        }
    }
    if let Some(a) = e.argon2 {
        t.push_str(&format!(
            "argon2 = {{ m_cost = {}, t_cost = {}, p_cost = {} }}\n",
            a.m_cost, a.t_cost, a.p_cost
        ));
    }
    if let Some(r) = &e.rotation {
        t.push_str(&format!(
            "[variable.rotation]\nimpact = {:?}\n",
            r.impact.name()
        ));
        if let Some(b) = &r.breaks {
            t.push_str(&format!("breaks = {b:?}\n"));
        }
        if let Some(m) = &r.max_age {
            t.push_str(&format!("max_age = {m:?}\n"));
        }
        t.push_str(&format!("steps = {:?}\n", r.steps));
    }
    t
}

#[test]
fn every_generator_is_valid_for_the_schema_and_meets_its_own_rules() {
    let mut checked = 0;
    for s in &catalogue().services {
        for e in s.variable.iter().filter(|e| e.encoding.is_some()) {
            let at = format!("catalogue/{}.toml {}", s.service.id, e.name);
            if e.encoding == Some(Encoding::Uuid) {
                continue;
            }
            let text = schema_text(e);
            let schema = Schema::parse(&text, Path::new("catalogue.toml"))
                .unwrap_or_else(|err| panic!("{at}: {err}\n{text}"));
            let generator = schema.variables()[0].kind.generator().unwrap().clone();
            assert_eq!(Some(generator.clone()), e.generator(), "{at}");
            let len = generator.value_len() as u32;
            if let Some(min) = e.min_chars {
                assert!(len >= min, "{at}: {len} characters, min_chars {min}");
            }
            if let Some(max) = e.max_chars {
                assert!(len <= max, "{at}: {len} characters, max_chars {max}");
            }
            if e.exact == Some(true) {
                assert!(e.count.is_none(), "{at}: exact lists are not supported");
            }
            // The excluded characters the encoding could produce must be refused by the
            // generator: none of the current entries needs more than the encoding itself.
            assert_eq!(
                e.effective_exclude(),
                "",
                "{at}: the encoding can produce excluded characters"
            );
            let mut rng = rand::rngs::OsRng;
            for _ in 0..20 {
                let value = generator.generate(&mut rng).unwrap();
                let value = secrecy::ExposeSecret::expose_secret(&value).to_string();
                assert!(generator.check(&value).is_ok(), "{at}");
                let exclude = e.exclude.as_deref().unwrap_or_default();
                // a list's exclusions apply to its items (Strapi's keys hold no `,`)
                let items: Vec<&str> = if generator.count > 1 {
                    value.split(&*generator.separator).collect()
                } else {
                    vec![value.as_str()]
                };
                assert_eq!(items.len(), generator.count, "{at}");
                for item in items {
                    assert!(
                        !item.chars().any(|c| exclude.contains(c)),
                        "{at}: excluded character"
                    );
                }
            }
            checked += 1;
        }
    }
    assert!(checked > 100, "{checked}");
}

#[test]
fn images_match_with_tags_digests_registries_and_wildcards() {
    let c = catalogue();
    let id = |image: &str| c.match_image(image).map(|s| s.service.id.as_str());
    assert_eq!(id("postgres"), Some("postgres"));
    assert_eq!(id("postgres:16-alpine"), Some("postgres"));
    assert_eq!(
        id("docker.io/library/postgres@sha256:0123456789abcdef"),
        Some("postgres")
    );
    assert_eq!(id("library/postgres:16"), Some("postgres"));
    assert_eq!(
        id("ghcr.io/immich-app/immich-server:${IMMICH_VERSION:-release}"),
        Some("immich")
    );
    assert_eq!(
        id("ghcr.io/immich-app/immich-server:release"),
        Some("immich")
    );
    assert_eq!(id("supabase/gotrue:v2.170.0"), Some("supabase"));
    assert_eq!(id("supabase/a/b"), None);
    assert_eq!(id("localhost:5000/postgres"), None);
    assert_eq!(id("mypostgres"), None);
    assert_eq!(
        normalise("Docker.io/Valkey/valkey:9@sha256:00"),
        "valkey/valkey"
    );
    assert_eq!(normalise("localhost:5000/x/y:1"), "localhost:5000/x/y");
    assert!(matches("ghcr.io/*/immich-*", "ghcr.io/a/immich-server"));
    assert!(!matches("ghcr.io/*", "ghcr.io/a/b"));
}
