/** Small DTOs for renderer tests. */
import type { GroupDetailDto, GroupListDto, PhotoDetailDto } from '../../../src-main/contract/ipc';

export function photo(id: number, extra: Partial<PhotoDetailDto> = {}): PhotoDetailDto {
  return {
    id,
    path: `/lib/photo-${id}.jpg`,
    size: 1000 * id,
    width: 400,
    height: 300,
    format: 'jpeg',
    takenAt: null,
    camera: null,
    exifFields: 0,
    distance: id === 1 ? 0 : 0.1,
    similarity:
      id === 1 ? 'the reference photo of this group' : 'the same picture, resized or re-saved',
    keep: id === 1,
    keepReason: id === 1 ? 'keep: highest resolution' : 'trash: smaller copy',
    isProtected: false,
    bundle: null,
    companions: [],
    ...extra,
  };
}

export function group(id: number, photos: PhotoDetailDto[]): GroupDetailDto {
  return {
    id,
    kind: 'near-duplicate',
    label: null,
    photos,
    keepOrder: ['resolution', 'size', 'format', 'exif', 'sharpness', 'date'],
  };
}

export function groupList(count: number): GroupListDto {
  return {
    groups: Array.from({ length: count }, (_, i) => ({
      id: i + 1,
      kind: i % 3 === 0 ? 'exact' : i % 3 === 1 ? 'near-duplicate' : 'similar',
      label: null,
      count: 2 + (i % 4),
      reclaimableBytes: 1000,
      coverPath: `/lib/${i % 2 ? 'beach' : 'city'}/img-${i}.jpg`,
      spread: 0.1,
    })),
    counts: { exact: Math.ceil(count / 3), 'near-duplicate': 0, similar: 0 },
    reclaimableBytes: { exact: 1000 * count, 'near-duplicate': 0, similar: 0 },
    thresholds: { nearDuplicate: 0.3, similar: 0.7 },
  };
}
