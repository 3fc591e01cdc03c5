//! The figures' PNG writer: chunks with valid CRCs, and the image data decodes back to the pixels.

use std::io::Read;

use dualprop::experiments::figures::png::encode_rgb;

/// Splits a PNG into (kind, data) chunks, checking every CRC.
fn chunks(png: &[u8]) -> Vec<([u8; 4], Vec<u8>)> {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let mut out = Vec::new();
    let mut i = 8;
    while i < png.len() {
        let len = u32::from_be_bytes(png[i..i + 4].try_into().unwrap()) as usize;
        let kind: [u8; 4] = png[i + 4..i + 8].try_into().unwrap();
        let data = png[i + 8..i + 8 + len].to_vec();
        let crc = u32::from_be_bytes(png[i + 8 + len..i + 12 + len].try_into().unwrap());
        let mut c = flate2::Crc::new();
        c.update(&kind);
        c.update(&data);
        assert_eq!(c.sum(), crc, "CRC of {:?}", std::str::from_utf8(&kind));
        out.push((kind, data));
        i += 12 + len;
    }
    out
}

#[test]
fn png_round_trips() {
    let (w, h) = (7u32, 5u32);
    let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i * 37 % 251) as u8).collect();
    let png = encode_rgb(&rgb, w, h).unwrap();
    let parts = chunks(&png);
    let kinds: Vec<&[u8; 4]> = parts.iter().map(|(k, _)| k).collect();
    assert_eq!(kinds, [b"IHDR", b"IDAT", b"IEND"]);
    assert_eq!(parts[0].1, [0, 0, 0, 7, 0, 0, 0, 5, 8, 2, 0, 0, 0]);
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(&parts[1].1[..])
        .read_to_end(&mut raw)
        .unwrap();
    let stride = (w * 3) as usize;
    assert_eq!(raw.len(), (stride + 1) * h as usize);
    let mut decoded: Vec<u8> = Vec::new();
    for (y, row) in raw.chunks(stride + 1).enumerate() {
        let line: Vec<u8> = match row[0] {
            0 => row[1..].to_vec(),
            2 => row[1..]
                .iter()
                .zip(&decoded[(y - 1) * stride..])
                .map(|(d, a)| d.wrapping_add(*a))
                .collect(),
            f => panic!("unexpected filter {f}"),
        };
        decoded.extend(line);
    }
    assert_eq!(decoded, rgb);
    assert!(encode_rgb(&rgb[1..], w, h).is_err());
}
