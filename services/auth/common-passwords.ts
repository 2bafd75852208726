// The shipped list of common passwords (issue #4: "not in a shipped list of common passwords").
// Two parts: whole passwords of 12+ characters seen at the top of public breach-frequency lists,
// and common bases that people pad to length ("Password1234!", "qwerty123456"): a password whose
// letters, with digits and symbols stripped from both ends and case folded, are one of those
// bases (or nothing at all) counts as common. Shorter passwords fail the length rule anyway.
const LONG = `123456789012 1234567890123 12345678901234 123456789012345 1234567890qwerty 1q2w3e4r5t6y
1q2w3e4r5t6y7u 1qaz2wsx3edc 1qaz2wsx3edc4rfv qwertyuiop123 qwertyuiopasdf qwertyuiopasdfghjkl
asdfghjklqwerty zxcvbnmasdfghjkl qazwsxedcrfv qazwsxedcrfvtgb passwordpassword password1234
password12345 password123456 iloveyou1234 iloveyouforever letmeinplease correcthorsebatterystaple
trustno1trustno1 abcdefghijkl abcdefghijklmn abc123abc123 aaaaaaaaaaaa 111111111111 000000000000
123123123123 123412341234 987654321098 098765432109 changemeplease changeme1234 welcome12345
administrator administrator1 adminadminadmin superadministrator letmein12345 starwars1234
football1234 baseball1234 basketball12 masterkey123 sunshine1234 princess1234 dragondragon
monkeymonkey shadowshadow michaelmichael qwerty123456 qwerty1234567 1234qwerasdf 1234qwerasdfzxcv
zaq12wsxcde3 zaq1zaq1zaq1 q1w2e3r4t5y6 a1b2c3d4e5f6 passw0rdpassw0rd p@ssw0rd1234 p@ssword1234
mypassword123 thisismypassword secretpassword defaultpassword raspberrypi1 raspberrypi123
lucidappliance lucidlucidlucid`;

const BASES = `password passw0rd p@ssword p@ssw0rd pass pwd admin administrator root toor user guest
login welcome letmein changeme default secret master masterkey qwerty qwertz azerty asdf asdfgh
asdfghjkl zxcv zxcvbn zxcvbnm qwer qwert qwertyuiop qazwsx iloveyou love lovely monkey dragon
shadow sunshine princess football baseball basketball soccer hockey superman batman starwars
trustno mustang michael jennifer jordan hunter ranger buster thomas tigger charlie robert daniel
ashley bailey harley hello freedom whatever computer internet server lucid raspberry raspberrypi
pi ubuntu debian linux abc abcd abcdef abcdefg test testing demo sample access ninja flower
summer winter spring autumn google facebook apple samsung nokia killer pepper cheese cookie
chocolate banana orange purple matrix hannah jessica andrew joshua secure security system
changeit temp temppass`;

const longSet = new Set(LONG.split(/\s+/).filter(Boolean));
const baseSet = new Set(BASES.split(/\s+/).filter(Boolean));

export function isCommonPassword(password: string): boolean {
  const lower = password.toLowerCase();
  if (longSet.has(lower)) return true;
  const core = lower.replace(/^[^a-z]+/, '').replace(/[^a-z]+$/, '');
  if (core === '') return true;
  if (baseSet.has(core)) return true;
  // The same base twice ("adminadmin2024") or base + base.
  for (const b of baseSet) if (core === b + b) return true;
  return false;
}

/** How many entries the shipped list has (reported in the README). */
export const COMMON_PASSWORD_COUNT = longSet.size + baseSet.size;
