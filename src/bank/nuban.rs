//! The check digit of a Nigerian bank account number (NUBAN, CBN revised standard of 2020):
//! the 10th digit follows from the bank's code and the first nine, so most mistyped account
//! numbers are caught before the name enquiry. A leaf.

/// The weights of the 15 digits: the bank code (6 digits) then the serial number (9).
const WEIGHTS: [u32; 15] = [3, 7, 3, 3, 7, 3, 3, 7, 3, 3, 7, 3, 3, 7, 3];

/// The bank code as six digits: a bank's 3-digit code after `000`, another institution's
/// 5-digit code after `9`; `None` for any other length.
fn six_digits(bank_code: &str) -> Option<String> {
    if !bank_code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match bank_code.len() {
        3 => Some(format!("000{bank_code}")),
        5 => Some(format!("9{bank_code}")),
        6 => Some(bank_code.to_owned()),
        _ => None,
    }
}

/// The check digit of the 9-digit `serial` at the bank with `bank_code`.
pub fn check_digit(bank_code: &str, serial: &str) -> Option<u32> {
    let code = six_digits(bank_code)?;
    if serial.len() != 9 || !serial.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits = code.chars().chain(serial.chars()).filter_map(|c| c.to_digit(10));
    let sum: u32 = digits.zip(WEIGHTS).map(|(d, w)| d * w).sum();
    Some((10 - sum % 10) % 10)
}

/// Whether `account` is a valid NUBAN at the bank with `bank_code`. A bank code teller cannot
/// check against (an unusual length) lets any 10 digits through: the name enquiry decides.
pub fn valid(bank_code: &str, account: &str) -> bool {
    if account.len() != 10 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let (serial, last) = account.split_at(9);
    check_digit(bank_code, serial)
        .is_none_or(|digit| last.chars().next().and_then(|c| c.to_digit(10)) == Some(digit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tenth_digit_is_checked_for_banks_and_other_institutions() {
        // GTBank (058): 000058 + 012345678 weighs 215, so the check digit is 5.
        assert_eq!(check_digit("058", "012345678"), Some(5));
        assert!(valid("058", "0123456785"));
        assert!(!valid("058", "0123456789"), "one digit off");
        assert!(!valid("058", "1023456785"), "two digits swapped");
        // A 5-digit code is read after a 9 (Kuda, 50211), a 6-digit one as it is.
        let kuda = check_digit("50211", "200123456").unwrap();
        assert!(valid("50211", &format!("200123456{kuda}")));
        let opay = check_digit("999992", "812345678").unwrap();
        assert!(valid("999992", &format!("812345678{opay}")));
        assert!(!valid("058", "12345"), "not 10 digits");
        assert!(valid("1234", "0123456789"), "a code of another length is not checked");
    }
}
