const exifr = require('exifr');
const fs = require('fs'), path = require('path');
const dir = '/work/shared/samples/formats';
(async () => {
for (const f of ['iphone7-display-p3.heic','jpeg-cmyk-swop-profile.jpg','jpeg-cmyk-no-profile.jpg','jpeg-progressive-canon-30d.jpg','png-with-exif-gps.png','webp-lossy-1024x772.webp','irvine-ca.avif','raw/exiftool-stub-DNG.dng','raw/exiftool-stub-Nikon.nef','raw/exiftool-stub-CanonRaw.cr2','orientation/landscape-orientation-1.jpg']) {
  try {
    const m = await exifr.parse(path.join(dir,f), { tiff: true, exif: true, gps: true, ifd1: false, mergeOutput: true, translateValues: false });
    const k = m ? Object.keys(m) : [];
    console.log(f, k.length, m && {w: m.ExifImageWidth ?? m.ImageWidth, h: m.ExifImageHeight ?? m.ImageHeight, d: m.DateTimeOriginal, make: m.Make, model: m.Model});
  } catch (e) { console.log(f, 'ERR', e.message); }
}
})();
