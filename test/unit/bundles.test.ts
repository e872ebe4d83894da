import { describe, expect, it } from 'vitest';
import {
  findEditedOriginal,
  isRawPair,
  planFolder,
  rawPairCandidates,
} from '../../src-main/core/bundles';

describe('planFolder', () => {
  it('attaches NAME.EXT.xmp to that exact photo and NAME.xmp to the RAW of the stem', () => {
    const plan = planFolder(['IMG_1.CR2', 'IMG_1.JPG', 'IMG_1.JPG.xmp', 'IMG_1.xmp']);
    expect(plan.photos).toEqual(['IMG_1.CR2', 'IMG_1.JPG']);
    expect(plan.companions.get('IMG_1.JPG')).toEqual([{ name: 'IMG_1.JPG.xmp', kind: 'xmp' }]);
    expect(plan.companions.get('IMG_1.CR2')).toEqual([{ name: 'IMG_1.xmp', kind: 'xmp' }]);
    expect(plan.orphans).toEqual([]);
  });

  it('matches sidecar names whatever their case', () => {
    const plan = planFolder([
      'dsc_0042.nef',
      'DSC_0042.NEF.XMP',
      'Dsc_0042.Nef.pp3',
      'dsc_0042.NEF.dop',
    ]);
    expect(
      plan.companions
        .get('dsc_0042.nef')
        ?.map((c) => c.kind)
        .sort(),
    ).toEqual(['dop', 'pp3', 'xmp']);
  });

  it('pairs a Live Photo video with the HEIC before the JPEG and never scans it', () => {
    const plan = planFolder(['IMG_7.HEIC', 'IMG_7.JPG', 'IMG_7.MOV', 'IMG_7.AAE']);
    expect(plan.photos).not.toContain('IMG_7.MOV');
    expect(plan.companions.get('IMG_7.HEIC')).toEqual([
      { name: 'IMG_7.AAE', kind: 'aae' },
      { name: 'IMG_7.MOV', kind: 'live-video' },
    ]);
  });

  it('reports a sidecar without its photo as an orphan and skips a lone video', () => {
    const plan = planFolder(['gone.CR2.xmp', 'clip.mov', 'IMG_2.THM']);
    expect(plan.photos).toEqual([]);
    expect(plan.orphans.map((o) => o.name).sort()).toEqual(['IMG_2.THM', 'gone.CR2.xmp']);
    expect(plan.skipped).toEqual(['clip.mov']);
  });
});

describe('RAW pairs', () => {
  it('finds RAW and JPEG/HEIC of one stem', () => {
    expect(rawPairCandidates(['a.ARW', 'a.jpg', 'b.arw', 'c.jpg', 'd.dng', 'd.HEIC'])).toEqual([
      ['a.ARW', 'a.jpg'],
      ['d.dng', 'd.HEIC'],
    ]);
  });

  it('accepts capture times within 2 s and refuses wider gaps', () => {
    expect(isRawPair('2024-05-01T10:00:00Z', '2024-05-01T10:00:02Z')).toBe(true);
    expect(isRawPair('2024-05-01T10:00:00Z', '2024-05-01T10:00:03Z')).toBe(false);
    expect(isRawPair(null, '2024-05-01T10:00:03Z')).toBe(true);
  });
});

describe('findEditedOriginal', () => {
  it('maps Apple and Google edited names to the original stem', () => {
    expect(findEditedOriginal('IMG_E1234.JPG')).toBe('img_1234');
    expect(findEditedOriginal('beach-edited.jpg')).toBe('beach');
    expect(findEditedOriginal('IMG_1234.JPG')).toBeNull();
    expect(findEditedOriginal('EDGE.jpg')).toBeNull();
  });
});
