//! The figures' PNG output decodes back to the pixels it was given, and a wrong buffer size is an error.

use dualprop::experiments::figures::png::encode_rgb;

#[test]
fn png_round_trips() {
    let (w, h) = (7u32, 5u32);
    let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i * 37 % 251) as u8).collect();
    let bytes = encode_rgb(&rgb, w, h).unwrap();
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .unwrap();
    let mut decoded = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut decoded).unwrap();
    assert_eq!((info.width, info.height), (w, h));
    assert_eq!(info.color_type, png::ColorType::Rgb);
    assert_eq!(&decoded[..info.buffer_size()], &rgb[..]);
    assert!(encode_rgb(&rgb[1..], w, h).is_err());
}
