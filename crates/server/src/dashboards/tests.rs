use serde_json::json;

use super::*;
use crate::db::ControlDb;

fn db() -> (tempfile::TempDir, ControlDb) {
    let dir = tempfile::tempdir().unwrap();
    let db = ControlDb::open(&dir.path().join("control.db")).unwrap();
    (dir, db)
}

#[test]
fn the_overview_is_built_in_and_read_only() {
    let (_dir, db) = db();
    let lib = Library::load(None).unwrap();
    db.call_blocking(|conn| {
        let list = list(conn, &lib).unwrap();
        assert_eq!(list[0].uid, "overview");
        assert!(list[0].read_only);
        let overview = get(conn, &lib, "overview").unwrap().unwrap();
        assert!(overview.dashboard["panels"].as_array().unwrap().len() >= 8);
        let refused = save(
            conn,
            &lib,
            "overview",
            json!({"title": "x"}),
            1,
            "",
            "ann",
            1,
        );
        assert!(matches!(refused, Err(DashboardError::ReadOnly(_))));
        assert!(matches!(
            delete(conn, &lib, "overview"),
            Err(DashboardError::ReadOnly(_))
        ));
        Ok(())
    })
    .unwrap();
}

#[test]
fn saves_keep_every_version_and_refuse_a_stale_edit() {
    let (_dir, db) = db();
    let lib = Library::load(None).unwrap();
    db.call_blocking(|conn| {
        let a = create(
            conn,
            &lib,
            json!({"title": "Shop KPIs", "panels": []}),
            "ann",
            10,
        )
        .unwrap();
        assert_eq!(a.dashboard["uid"], "shop-kpis");
        assert_eq!(a.dashboard["variables"], json!([]));
        // The same title again gets a uid of its own; a taken uid given is a conflict.
        let b = create(conn, &lib, json!({"title": "Shop KPIs"}), "ann", 11).unwrap();
        assert_eq!(b.dashboard["uid"], "shop-kpis-2");
        let taken = create(
            conn,
            &lib,
            json!({"title": "x", "uid": "shop-kpis"}),
            "ann",
            12,
        );
        assert!(matches!(taken, Err(DashboardError::Conflict(_))));
        let overview = create(
            conn,
            &lib,
            json!({"title": "x", "uid": "overview"}),
            "ann",
            12,
        );
        assert!(matches!(overview, Err(DashboardError::Conflict(_))));

        let body = json!({"title": "Shop", "panels": [{"id": 1, "type": "graph"}]});
        let v2 = save(conn, &lib, "shop-kpis", body, 1, "a graph", "bob", 20).unwrap();
        assert_eq!((v2.version, v2.updated_by.as_deref()), (2, Some("bob")));
        let stale = save(
            conn,
            &lib,
            "shop-kpis",
            json!({"title": "Old"}),
            1,
            "",
            "ann",
            21,
        );
        let Err(DashboardError::Conflict(message)) = stale else {
            panic!("a stale save must conflict: {stale:?}");
        };
        assert!(message.contains("bob saved version 2"), "{message}");

        let restored = restore(conn, &lib, "shop-kpis", 1, "ann", 30).unwrap();
        assert_eq!(restored.version, 3);
        assert_eq!(restored.dashboard["title"], "Shop KPIs");
        let history: Vec<(i64, String, String)> = versions(conn, "shop-kpis")
            .unwrap()
            .into_iter()
            .map(|v| (v.version, v.author, v.message))
            .collect();
        assert_eq!(
            history,
            [
                (3, "ann".into(), "restored version 1".into()),
                (2, "bob".into(), "a graph".into()),
                (1, "ann".into(), "created".into()),
            ]
        );
        assert!(delete(conn, &lib, "shop-kpis").unwrap());
        assert!(get(conn, &lib, "shop-kpis").unwrap().is_none());
        assert!(versions(conn, "shop-kpis").unwrap().is_empty());
        Ok(())
    })
    .unwrap();
}

#[test]
fn bodies_are_checked() {
    let (_dir, db) = db();
    let lib = Library::load(None).unwrap();
    db.call_blocking(|conn| {
        for (body, needle) in [
            (json!([1]), "JSON object"),
            (json!({"title": ""}), "title"),
            (json!({"title": "x", "panels": {}}), "`panels` is a list"),
            (json!({"title": "x", "panels": [1]}), "object"),
            (json!({"title": "x", "uid": "Bad Uid"}), "uid"),
            (json!({"title": "x", "uid": "_graph"}), "uid"),
        ] {
            match create(conn, &lib, body.clone(), "ann", 1) {
                Err(DashboardError::Invalid(m)) => assert!(m.contains(needle), "{body}: {m}"),
                other => panic!("{body} was not refused: {other:?}"),
            }
        }
        Ok(())
    })
    .unwrap();
}

#[test]
fn a_folder_provisions_read_only_dashboards() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Ops Board.json"), r#"{"title": "Ops"}"#).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a dashboard").unwrap();
    let lib = Library::load(Some(dir.path())).unwrap();
    let (_d, db) = db();
    db.call_blocking(|conn| {
        let listed: Vec<(String, Source)> = list(conn, &lib)
            .unwrap()
            .into_iter()
            .map(|l| (l.uid, l.source))
            .collect();
        assert_eq!(
            listed,
            [
                ("overview".into(), Source::Builtin),
                ("ops-board".into(), Source::Provisioned)
            ]
        );
        Ok(())
    })
    .unwrap();
    std::fs::write(dir.path().join("broken.json"), "{").unwrap();
    let err = Library::load(Some(dir.path())).unwrap_err().to_string();
    assert!(err.contains("broken.json"), "{err}");
}

#[test]
fn saved_searches_round_trip() {
    let (_dir, db) = db();
    db.call_blocking(|conn| {
        let s = searches::create(
            conn,
            " Signups ",
            "event:user.signed_up",
            "today",
            "now",
            "ann",
            5,
        )
        .unwrap();
        assert_eq!(s.name, "Signups");
        assert!(searches::create(conn, "", "x", "-1h", "now", "ann", 5).is_err());
        assert_eq!(searches::list(conn).unwrap(), std::slice::from_ref(&s));
        assert!(searches::delete(conn, s.id).unwrap());
        assert!(searches::list(conn).unwrap().is_empty());
        Ok(())
    })
    .unwrap();
}
