use super::*;

fn def(id: SeriesId, name: &str) -> SeriesDef {
    SeriesDef {
        id,
        name: name.to_owned(),
        schema: Schema::parse("10s:6h,1m:30d").unwrap(),
        aggregation: Aggregation {
            x_files_factor: 0.3,
            method: Method::Sum,
        },
    }
}

fn points(n: u32) -> Vec<WalPoint> {
    (0..n)
        .map(|i| WalPoint {
            id: i % 3,
            tier: (i % 2) as u8,
            timestamp: 1_700_000_000 + i64::from(i) * 10,
            value: f64::from(i) * 0.5,
        })
        .collect()
}

fn replayed(dir: &Path, generation: u64) -> Vec<WalPoint> {
    let mut out = Vec::new();
    replay_points(&wal_path(dir, generation), |p| out.push(p)).unwrap();
    out
}

#[test]
fn committed_records_replay() {
    let tmp = tempfile::tempdir().unwrap();
    let wal = Wal::open(tmp.path(), 1).unwrap();
    wal.append_series(&def(0, "a.b"));
    wal.append_series(&def(1, "c;k=v"));
    let seq = wal.append_points(&points(10));
    assert!(!wal.wait_committed(seq, Duration::from_millis(1)));
    wal.commit().unwrap();
    assert!(wal.wait_committed(seq, Duration::ZERO));
    assert_eq!(
        replay_series(tmp.path()).unwrap(),
        vec![def(0, "a.b"), def(1, "c;k=v")]
    );
    assert_eq!(replayed(tmp.path(), 1), points(10));
}

#[test]
fn rotation_keeps_order_between_files() {
    let tmp = tempfile::tempdir().unwrap();
    let wal = Wal::open(tmp.path(), 1).unwrap();
    wal.append_points(&points(3));
    let old = wal.rotate(2).unwrap();
    assert_eq!(old, wal_path(tmp.path(), 1));
    wal.append_points(&points(5));
    wal.commit().unwrap();
    assert_eq!(replayed(tmp.path(), 1), points(3));
    assert_eq!(replayed(tmp.path(), 2), points(5));
    let files: Vec<u64> = wal_files(tmp.path())
        .unwrap()
        .into_iter()
        .map(|(g, _)| g)
        .collect();
    assert_eq!(files, [1, 2]);
}

#[test]
fn a_torn_tail_is_cut_and_the_rest_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let wal = Wal::open(tmp.path(), 7).unwrap();
    wal.append_points(&points(4));
    wal.commit().unwrap();
    wal.append_points(&points(6));
    wal.commit().unwrap();
    drop(wal);
    let path = wal_path(tmp.path(), 7);
    let full = fs::metadata(&path).unwrap().len();
    // Every cut inside the second record keeps exactly the first.
    let mut bytes = fs::read(&path).unwrap();
    let first_len = 8 + u32::from_le_bytes(bytes[..4].try_into().unwrap()) as u64;
    for cut in [full - 1, full - 9, first_len + 3, first_len + 8] {
        fs::write(&path, &bytes[..cut as usize]).unwrap();
        assert_eq!(replayed(tmp.path(), 7), points(4), "cut at {cut}");
        assert_eq!(
            fs::metadata(&path).unwrap().len(),
            first_len,
            "the file is truncated to the last good record"
        );
    }
    // A flipped bit in the second record's payload is caught by its CRC.
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    fs::write(&path, &bytes).unwrap();
    assert_eq!(replayed(tmp.path(), 7), points(4));
}

#[test]
fn varints_and_zigzag() {
    for v in [0i64, 1, -1, 63, -64, i64::MAX, i64::MIN, 1_700_000_000] {
        assert_eq!(unzigzag(zigzag(v)), v);
        let mut out = Vec::new();
        put_varint(&mut out, zigzag(v));
        assert_eq!(Reader(&out).varint(), Some(zigzag(v)));
    }
}
