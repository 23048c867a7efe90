//! A realistic schema (a foreign worker's permit application) and helpers shared by the unit
//! tests of the parts of `forms`.

use super::FormSchema;
use serde_json::{Value, json};

/// Cấp giấy phép lao động cho người lao động nước ngoài: members deliberately not in
/// alphabetical order, to see that the written order is what renders.
pub(super) const WORK_PERMIT: &str = r#"{
  "type": "object",
  "title": "Tờ khai đề nghị cấp giấy phép lao động",
  "properties": {
    "ho_ten": {"type": "string", "title": "Họ và tên", "title_en": "Full name",
               "minLength": 2, "maxLength": 100, "placeholder": "Nguyễn Văn A"},
    "ngay_sinh": {"type": "string", "format": "date", "title": "Ngày sinh",
                  "title_en": "Date of birth"},
    "quoc_tich": {"type": "string", "title": "Quốc tịch", "title_en": "Nationality",
                  "enum": ["VN", "CN", "KR", "JP", "US"],
                  "enumLabels": ["Việt Nam", "Trung Quốc", "Hàn Quốc", "Nhật Bản", "Hoa Kỳ"]},
    "so_ho_chieu": {"type": "string", "title": "Số hộ chiếu", "title_en": "Passport number",
                    "pattern": "[A-Z][0-9]{7}", "description": "Như trên hộ chiếu"},
    "email": {"type": "string", "format": "email", "title": "Thư điện tử", "title_en": "Email"},
    "dien_thoai": {"type": "string", "format": "phone", "title": "Điện thoại", "title_en": "Phone"},
    "so_cccd": {"type": "string", "format": "cccd", "title": "Số CCCD người đại diện"},
    "so_thang": {"type": "integer", "title": "Thời hạn đề nghị (tháng)", "minimum": 1, "maximum": 24},
    "muc_luong": {"type": "number", "title": "Mức lương (triệu đồng)", "minimum": 0},
    "da_co_giay_phep": {"type": "boolean", "title": "Đã từng được cấp giấy phép"},
    "nguoi_lao_dong": {
      "type": "array", "title": "Danh sách người lao động", "title_en": "Workers",
      "minItems": 1, "maxItems": 50,
      "items": {
        "type": "object",
        "properties": {
          "ho_ten": {"type": "string", "title": "Họ và tên", "title_en": "Full name", "maxLength": 100},
          "so_ho_chieu": {"type": "string", "title": "Số hộ chiếu", "title_en": "Passport number",
                          "pattern": "[A-Z][0-9]{7}"},
          "ngay_sinh": {"type": "string", "format": "date", "title": "Ngày sinh"},
          "vi_tri": {"type": "string", "title": "Vị trí công việc",
                     "enum": ["quan_ly", "chuyen_gia", "ky_thuat"],
                     "enumLabels": ["Nhà quản lý", "Chuyên gia", "Lao động kỹ thuật"]}
        },
        "required": ["ho_ten", "so_ho_chieu", "vi_tri"]
      }
    }
  },
  "required": ["ho_ten", "ngay_sinh", "quoc_tich", "so_ho_chieu", "email", "dien_thoai",
               "nguoi_lao_dong"]
}"#;

pub(super) const TOP_REQUIRED: [&str; 7] = [
    "ho_ten",
    "ngay_sinh",
    "quoc_tich",
    "so_ho_chieu",
    "email",
    "dien_thoai",
    "nguoi_lao_dong",
];
pub(super) const WORKER_REQUIRED: [&str; 3] = ["ho_ten", "so_ho_chieu", "vi_tri"];

pub(super) fn permit() -> FormSchema {
    FormSchema::parse_str(WORK_PERMIT).unwrap()
}

pub(super) fn valid() -> Value {
    json!({
        "ho_ten": "Nguyễn Thị Ánh Tuyết",
        "ngay_sinh": "1985-02-28",
        "quoc_tich": "KR",
        "so_ho_chieu": "M1234567",
        "email": "tuyet.nguyen@congty.com.vn",
        "dien_thoai": "0912345678",
        "so_cccd": "001085012345",
        "so_thang": 24,
        "muc_luong": 45.5,
        "da_co_giay_phep": false,
        "nguoi_lao_dong": [
            {"ho_ten": "Kim Min-jun", "so_ho_chieu": "M7654321", "vi_tri": "chuyen_gia"},
            {"ho_ten": "Tanaka Hiroshi", "so_ho_chieu": "T0000001", "vi_tri": "quan_ly",
             "ngay_sinh": "1979-12-31"}
        ]
    })
}

/// Schema with one property `f` of the given schema.
pub(super) fn one(field: Value) -> FormSchema {
    FormSchema::parse(&json!({"type": "object", "properties": {"f": field}})).unwrap()
}

pub(super) fn codes(schema: &FormSchema, data: Value) -> Vec<(String, String)> {
    match schema.validate(&data) {
        Ok(()) => Vec::new(),
        Err(errors) => errors.into_iter().map(|e| (e.path, e.code)).collect(),
    }
}

pub(super) fn err(path: &str, code: &str) -> Vec<(String, String)> {
    vec![(path.to_owned(), code.to_owned())]
}
