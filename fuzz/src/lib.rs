//! What the fuzz targets share: checks that an error's `line:col` lies inside the text.

/// Panics unless `line:column` (1-based, the column in characters) names a position in `text`:
/// a line that exists and a column at most one past that line's last character.
pub fn assert_position_in(text: &str, line: usize, column: usize, error: &str) {
    let Some(line_text) = line.checked_sub(1).and_then(|index| text.split('\n').nth(index)) else {
        panic!("line {line} is not in the {}-line text: {error}", text.split('\n').count());
    };
    let last_column = line_text.chars().count() + 1;
    assert!(
        (1..=last_column).contains(&column),
        "column {column} is past {last_column} on line {line}: {error}"
    );
}
